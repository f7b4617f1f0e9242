/// <reference types="vite/client" />

interface ImportMetaEnv {
  /** "true" turns on debug logging in the browser console (also on when /api/config says debugLogs). */
  readonly VITE_ENABLE_DEBUG_LOGS?: string;
}
