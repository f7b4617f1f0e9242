declare module "vitest" {
  interface ProvidedContext {
    twilioPort: number;
  }
}
export {};
