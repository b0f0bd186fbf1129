export default function ChatsPage() {
  return <h1>Support chats</h1>;
}
