/** Vite's `?raw` imports (the tests read docs/authorization.md as text). */
declare module "*.md?raw" {
  const text: string;
  export default text;
}
