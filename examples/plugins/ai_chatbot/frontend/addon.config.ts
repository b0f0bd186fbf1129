export default {
  routes: [{ path: '/support/chats', page: 'pages/ChatsPage' }],
  components: ['AIChatBot'],
};
