export function AIChatBot() {
  return <div className="ai-chatbot">How can we help?</div>;
}
