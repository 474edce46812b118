import { ChatPanel } from "../_components/chat-panel";

/** The chat inside the embeddable widget's iframe (see public/widget.js). */
export default function WidgetPage() {
  return <ChatPanel compact />;
}
