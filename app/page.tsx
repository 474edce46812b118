import { ChatPanel } from "./_components/chat-panel";

export default function Home() {
  return (
    <main className="page">
      <header className="page-header">
        <h1>Northwind Goods</h1>
        <p>Questions about an order, a delivery or a return? Our assistant answers right away, and a person is one message away.</p>
      </header>
      <ChatPanel />
    </main>
  );
}
