/** The inbox's filter form state, shared by the inbox page (server) and InboxView (client). */

/** The inbox filter form's values, as strings (the URL's query parameters; confidence in percent). */
export interface InboxFormValues {
  q: string;
  status: string;
  intent: string;
  minConfidence: string;
  maxConfidence: string;
  from: string;
  to: string;
  hasCorrection: string;
}

export const EMPTY_FORM: InboxFormValues = { q: "", status: "", intent: "", minConfidence: "", maxConfidence: "", from: "", to: "", hasCorrection: "" };
