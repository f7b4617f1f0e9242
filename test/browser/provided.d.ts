// Values the browser project's globalSetup (global-setup.ts) hands to its tests through `inject()`.
declare module "vitest" {
  interface ProvidedContext {
    /** Where the product runs for the browser tests (no trailing slash). */
    appUrl: string;
    /** The fake camera's Y4M clip (320x180, 15 fps), or "" for Chromium's built-in fake camera. */
    fakeVideoFile: string;
  }
}
export {};
