/**
 * Debug logging, off by default. On when the build/dev server has VITE_ENABLE_DEBUG_LOGS=true, when the server's
 * /api/config says debugLogs, or when someone sets localStorage "mb.debug" = "1" in the browser console.
 * DOM-free on purpose: the media modules that use it are also unit-tested on Node.
 */
type Env = { VITE_ENABLE_DEBUG_LOGS?: string } | undefined;

function fromBuild(): boolean {
  try {
    return ((import.meta as unknown as { env?: Env }).env?.VITE_ENABLE_DEBUG_LOGS ?? "") === "true";
  } catch {
    return false;
  }
}

function fromStorage(): boolean {
  try {
    const ls = (globalThis as { localStorage?: { getItem(k: string): string | null } }).localStorage;
    return ls?.getItem("mb.debug") === "1";
  } catch {
    return false;
  }
}

let enabled = fromBuild() || fromStorage();

export function setDebugLogging(on: boolean): void {
  enabled = on || fromBuild() || fromStorage();
}

/** A tagged debug logger: `const log = debugLog("ws"); log("open", url)`. */
export function debugLog(tag: string): (...args: unknown[]) => void {
  return (...args: unknown[]) => {
    if (enabled) console.debug(`[mb:${tag}]`, ...args);
  };
}
