import { createSignal, For, Show, type JSX, type Resource } from "solid-js";
import { ApiError, describeError } from "../lib/api";
import { CommandError } from "../lib/session-core";
import type { ConnectionStatus } from "../lib/session-core";

/** A sentence for an error from the API or from a command. */
export function errorMessage(e: unknown): string {
  if (e instanceof CommandError) return e.code === "CONNECTION_CLOSED" ? e.message : describeError(e.code, e.message);
  if (e instanceof ApiError) return describeError(e.code, e.message);
  if (e instanceof Error) return e.message;
  return String(e);
}

/**
 * One control's request state: pending while it runs, and the error it caused (shown next to that control).
 */
export function createAction() {
  const [pending, setPending] = createSignal(false);
  const [error, setError] = createSignal<string | null>(null);
  async function run<T>(fn: () => Promise<T>): Promise<T | undefined> {
    setPending(true);
    setError(null);
    try {
      return await fn();
    } catch (e) {
      setError(errorMessage(e));
      return undefined;
    } finally {
      setPending(false);
    }
  }
  return { run, pending, error, setError };
}

export function ErrorText(props: { error: string | null | undefined; id?: string; testid?: string }) {
  return (
    <Show when={props.error}>
      <p class="error" role="alert" id={props.id} data-testid={props.testid}>
        {props.error}
      </p>
    </Show>
  );
}

export function ConnectionBanner(props: { status: ConnectionStatus; fatal: string | null }) {
  return (
    <>
      <Show when={props.fatal}>
        <div class="banner danger" role="alert" data-testid="session-fatal">
          {props.fatal}
        </div>
      </Show>
      <Show when={!props.fatal && (props.status === "reconnecting" || props.status === "connecting")}>
        <div class="reconnecting" role="status" aria-live="polite" data-testid="reconnecting-banner">
          {props.status === "connecting" ? "Connecting…" : "Reconnecting…"}
        </div>
      </Show>
    </>
  );
}

export function QualityBars(props: { level: number | null | undefined; label?: string }) {
  const text = () => (props.level === null || props.level === undefined ? "Connection quality unknown" : `Connection quality ${props.level} of 5`);
  return (
    <span class="quality" role="img" aria-label={props.label ? `${props.label}: ${text()}` : text()} title={text()}>
      <For each={[1, 2, 3, 4, 5]}>{(n) => <span class={(props.level ?? 0) >= n ? "on" : ""} />}</For>
    </span>
  );
}

export function CopyField(props: { label: string; value: string; testid?: string; hint?: string }) {
  const [copied, setCopied] = createSignal(false);
  const id = `copy-${Math.random().toString(36).slice(2, 8)}`;
  let input!: HTMLInputElement;
  async function copy() {
    try {
      await navigator.clipboard.writeText(props.value);
    } catch {
      input.select();
      document.execCommand?.("copy");
    }
    setCopied(true);
    setTimeout(() => setCopied(false), 2500);
  }
  return (
    <div class="field">
      <label for={id}>{props.label}</label>
      <Show when={props.hint}>
        <p class="hint">{props.hint}</p>
      </Show>
      <div class="copy">
        <input id={id} ref={input} readonly value={props.value} data-testid={props.testid} onFocus={(e) => e.currentTarget.select()} />
        <button type="button" class="secondary" onClick={copy}>
          {copied() ? "Copied" : "Copy link"}
        </button>
      </div>
      <span class="visually-hidden" role="status" aria-live="polite">
        {copied() ? "Link copied" : ""}
      </span>
    </div>
  );
}

export function Card(props: { title?: string; children: JSX.Element; testid?: string; labelledBy?: string; class?: string }) {
  const hid = props.title ? `h-${props.title.replace(/\W+/g, "-").toLowerCase()}` : undefined;
  return (
    <section class={`card ${props.class ?? ""}`} aria-labelledby={hid} data-testid={props.testid}>
      <Show when={props.title}>
        <h2 id={hid}>{props.title}</h2>
      </Show>
      {props.children}
    </section>
  );
}

/**
 * A list read from the server: "Loading…" while it loads, a sentence when it could not be read, another when it is
 * empty, else a `<ul class="list">` with one item per entry.
 */
export function ListOf<T>(props: {
  items: Resource<T[] | undefined>;
  loading: string;
  failed: string;
  empty: string;
  /** Class of the status sentences ("muted small" in a panel). */
  textClass?: string;
  children: (item: T) => JSX.Element;
}) {
  return (
    <Show
      when={!props.items.loading}
      fallback={
        <p class={props.textClass} role="status">
          {props.loading}
        </p>
      }
    >
      <Show when={!props.items.error} fallback={<ErrorText error={props.failed} />}>
        <Show when={(props.items() ?? []).length > 0} fallback={<p class={props.textClass ?? "muted"}>{props.empty}</p>}>
          <ul class="list">
            <For each={props.items()}>{props.children}</For>
          </ul>
        </Show>
      </Show>
    </Show>
  );
}
