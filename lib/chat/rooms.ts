/** socket.io room names. Rooms (not socket ids) are how any instance reaches a customer's tabs. */
export const customerRoom = (customerId: string) => `customer:${customerId}`;
export const conversationRoom = (conversationId: string) => `conversation:${conversationId}`;
