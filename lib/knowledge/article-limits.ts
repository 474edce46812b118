/** How long an article's title and text may be: plain data, shared by the API's validation and the editor form. */
export const MAX_TITLE_CHARS = 200;
export const MAX_BODY_CHARS = 20_000;
