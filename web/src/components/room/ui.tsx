/**
 * Building blocks of the meeting room: a menu button (keyboard: arrows, Home/End, Enter, Escape; focus returns to the
 * button), a confirmation dialog (native <dialog>, modal: focus is trapped, Escape cancels), a side panel (focus moves
 * in when it opens and back to what opened it when it closes; Escape closes it), control-bar buttons, and an element
 * size signal (ResizeObserver).
 */
import { createEffect, createSignal, For, type JSX, on, onCleanup, onMount, Show, untrack, type Accessor } from "solid-js";
import { Portal } from "solid-js/web";
import { Icon, type IconName } from "./icons";

// ---------------------------------------------------------------------------------------------------------------
// Element size
// ---------------------------------------------------------------------------------------------------------------

/** The content-box size of an element, updated on every resize. */
export function createElementSize(el: Accessor<HTMLElement | undefined>): Accessor<{ width: number; height: number }> {
  const [size, setSize] = createSignal({ width: 0, height: 0 }, { equals: (a, b) => a.width === b.width && a.height === b.height });
  createEffect(() => {
    const node = el();
    if (!node) return;
    const measure = () => setSize({ width: Math.floor(node.clientWidth), height: Math.floor(node.clientHeight) });
    measure();
    const ro = new ResizeObserver(measure);
    ro.observe(node);
    onCleanup(() => ro.disconnect());
  });
  return size;
}

// ---------------------------------------------------------------------------------------------------------------
// Menu
// ---------------------------------------------------------------------------------------------------------------

export interface MenuItem {
  id: string;
  label: string;
  onSelect: () => void;
  disabled?: boolean;
  /** A line under the label (e.g. why it is disabled). */
  hint?: string;
  testid?: string;
  /** A thin line above this item, starting a group. */
  separatorBefore?: boolean;
  /** A group heading shown above this item (not focusable). */
  heading?: string;
  /** Extra class: "phone-only" items show only where the control bar moved them into this menu. */
  class?: string;
  tone?: "danger";
  icon?: IconName;
  badge?: number;
}

let menuSeq = 0;

/**
 * A button that opens a menu of actions. The menu is placed with fixed positioning next to the button (above it when
 * `placement` is "up" or there is no room below), inside the viewport, and closes on selection, Escape, Tab, a click
 * elsewhere, scrolling or resizing.
 */
export function MenuButton(props: {
  /** The button's accessible name (and visible text unless `children` replaces it). */
  label: string;
  items: () => MenuItem[];
  class?: string;
  testid?: string;
  placement?: "up" | "down";
  children?: JSX.Element;
  title?: string;
  disabled?: boolean;
}) {
  const id = `menu-${++menuSeq}`;
  const [open, setOpen] = createSignal(false);
  // The items as they were when the menu opened: a state update while it is open must not rebuild the items under
  // the pointer or take the keyboard focus away.
  const [shown, setShown] = createSignal<MenuItem[]>([]);
  const [pos, setPos] = createSignal<{ left: number; top: number; maxHeight: number }>({ left: 0, top: 0, maxHeight: 400 });
  let button!: HTMLButtonElement;
  let menu: HTMLDivElement | undefined;

  const focusables = () =>
    menu ? (Array.from(menu.querySelectorAll<HTMLButtonElement>('[role="menuitem"]')).filter((b) => b.offsetParent !== null) as HTMLButtonElement[]) : [];
  const focusAt = (i: number) => {
    const list = focusables();
    if (list.length === 0) return;
    list[(i + list.length) % list.length].focus();
  };

  // Where the button was when the menu was placed: a scroll that leaves it there (scroll anchoring as content
  // changes elsewhere, a scroll-into-view already done) keeps the menu open.
  let anchor = { left: 0, top: 0 };

  function place() {
    const r = button.getBoundingClientRect();
    anchor = { left: r.left, top: r.top };
    const vw = window.innerWidth;
    const vh = window.innerHeight;
    const width = Math.min(320, vw - 16);
    const left = Math.max(8, Math.min(r.left, vw - width - 8));
    const below = vh - r.bottom - 8;
    const above = r.top - 8;
    const up = props.placement === "up" ? above > 160 || above > below : below < 200 && above > below;
    setPos(up ? { left, top: -1, maxHeight: above - 4 } : { left, top: r.bottom + 4, maxHeight: below - 4 });
    // "up": anchored by its bottom edge once rendered.
    if (up)
      queueMicrotask(() => {
        if (!menu) return;
        const h = Math.min(menu.scrollHeight, above - 4);
        setPos({ left, top: Math.max(8, r.top - 4 - h), maxHeight: above - 4 });
      });
  }

  function show(focus: "first" | "last" = "first") {
    if (props.disabled) return;
    setShown(untrack(props.items));
    place();
    setOpen(true);
    queueMicrotask(() => focusAt(focus === "first" ? 0 : -1));
  }
  function hide(refocus = true) {
    if (!open()) return;
    setOpen(false);
    if (refocus && button.isConnected) button.focus();
  }

  createEffect(
    on(open, (isOpen) => {
      if (!isOpen) return;
      const outside = (e: Event) => {
        const t = e.target as Node | null;
        if (t && (menu?.contains(t) || button.contains(t))) return;
        hide(false);
      };
      const scroll = (e: Event) => {
        if (menu && e.target instanceof Node && menu.contains(e.target)) return;
        const r = button.getBoundingClientRect();
        if (Math.abs(r.left - anchor.left) < 1 && Math.abs(r.top - anchor.top) < 1) return;
        hide(false);
      };
      const resize = () => hide(false);
      document.addEventListener("pointerdown", outside, true);
      document.addEventListener("scroll", scroll, true);
      window.addEventListener("resize", resize);
      onCleanup(() => {
        document.removeEventListener("pointerdown", outside, true);
        document.removeEventListener("scroll", scroll, true);
        window.removeEventListener("resize", resize);
      });
    }),
  );

  function onMenuKey(e: KeyboardEvent) {
    const list = focusables();
    const i = list.indexOf(document.activeElement as HTMLButtonElement);
    switch (e.key) {
      case "ArrowDown":
        e.preventDefault();
        focusAt(i + 1);
        break;
      case "ArrowUp":
        e.preventDefault();
        focusAt(i - 1);
        break;
      case "Home":
        e.preventDefault();
        focusAt(0);
        break;
      case "End":
        e.preventDefault();
        focusAt(-1);
        break;
      case "Escape":
        e.preventDefault();
        e.stopPropagation();
        hide();
        break;
      case "Tab":
        hide();
        break;
    }
  }

  return (
    <>
      <button
        ref={button}
        type="button"
        class={props.class ?? "secondary small"}
        aria-haspopup="menu"
        aria-expanded={open()}
        aria-controls={open() ? id : undefined}
        aria-label={props.children ? props.label : undefined}
        title={props.title}
        disabled={props.disabled}
        data-testid={props.testid}
        onClick={() => (open() ? hide() : show())}
        onKeyDown={(e) => {
          if (e.key === "ArrowDown" || e.key === "ArrowUp") {
            e.preventDefault();
            show(e.key === "ArrowDown" ? "first" : "last");
          }
        }}
      >
        {props.children ?? props.label}
      </button>
      <Show when={open()}>
        <Portal>
          <div
            ref={menu}
            id={id}
            role="menu"
            aria-label={props.label}
            class="menu"
            style={{ left: `${pos().left}px`, top: `${pos().top}px`, "max-height": `${Math.max(120, pos().maxHeight)}px` }}
            onKeyDown={onMenuKey}
            data-testid={props.testid ? `${props.testid}-menu` : undefined}
          >
            <For each={shown()}>
              {(item) => (
                <>
                  <Show when={item.separatorBefore}>
                    <hr class={`menu-sep ${item.class ?? ""}`} />
                  </Show>
                  <Show when={item.heading}>
                    <div class={`menu-heading ${item.class ?? ""}`} role="presentation">
                      {item.heading}
                    </div>
                  </Show>
                  <button
                    type="button"
                    role="menuitem"
                    tabindex="-1"
                    class={`menu-item ${item.tone === "danger" ? "danger" : ""} ${item.class ?? ""}`}
                    aria-disabled={item.disabled ? "true" : undefined}
                    data-testid={item.testid}
                    onClick={() => {
                      if (item.disabled) return;
                      hide();
                      item.onSelect();
                    }}
                  >
                    <Show when={item.icon}>{(n) => <Icon name={n()} />}</Show>
                    <span class="menu-text">
                      <span>{item.label}</span>
                      <Show when={item.hint}>
                        <span class="menu-hint">{item.hint}</span>
                      </Show>
                    </span>
                    <Show when={item.badge}>
                      <span class="count-badge">{item.badge}</span>
                    </Show>
                  </button>
                </>
              )}
            </For>
          </div>
        </Portal>
      </Show>
    </>
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Confirmation dialog
// ---------------------------------------------------------------------------------------------------------------

/**
 * A modal question with a confirm and a cancel button. `open` drives it; the dialog calls `onClose` when cancelled
 * (button, Escape). The confirm button runs `onConfirm` (which may be async; the dialog stays open while it runs).
 */
export function ConfirmDialog(props: {
  open: boolean;
  title: string;
  children: JSX.Element;
  confirmLabel: string;
  cancelLabel?: string;
  tone?: "danger";
  pending?: boolean;
  error?: string | null;
  testid?: string;
  confirmTestid?: string;
  onConfirm: () => void;
  onClose: () => void;
}) {
  let dialog!: HTMLDialogElement;
  let returnTo: Element | null = null;
  const titleId = `dlg-${++menuSeq}`;
  createEffect(() => {
    if (props.open && !dialog.open) {
      returnTo = document.activeElement;
      dialog.showModal();
    } else if (!props.open && dialog.open) {
      dialog.close();
      if (returnTo instanceof HTMLElement && returnTo.isConnected) returnTo.focus();
    }
  });
  return (
    <dialog
      ref={dialog}
      class="confirm"
      aria-labelledby={titleId}
      data-testid={props.testid}
      onCancel={(e) => {
        e.preventDefault();
        props.onClose();
      }}
      onKeyDown={(e) => {
        if (e.key === "Escape") e.stopPropagation();
      }}
    >
      <h2 id={titleId}>{props.title}</h2>
      <div class="confirm-body">{props.children}</div>
      <Show when={props.error}>
        <p class="error" role="alert">
          {props.error}
        </p>
      </Show>
      <div class="row confirm-actions">
        <button type="button" class="secondary" onClick={() => props.onClose()} autofocus>
          {props.cancelLabel ?? "Cancel"}
        </button>
        <button
          type="button"
          class={props.tone === "danger" ? "danger" : ""}
          disabled={props.pending}
          onClick={() => props.onConfirm()}
          data-testid={props.confirmTestid}
        >
          {props.confirmLabel}
        </button>
      </div>
    </dialog>
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Panels
// ---------------------------------------------------------------------------------------------------------------

/** Which side panel is open (one at a time), and where focus goes back to when it closes. */
export function createPanels<Id extends string>() {
  const [open, setOpen] = createSignal<Id | null>(null);
  let returnTo: HTMLElement | null = null;
  const close = () => {
    const was = open();
    if (!was) return;
    setOpen(null);
    const back = returnTo?.isConnected ? returnTo : (document.querySelector<HTMLElement>(`[data-panel-toggle="${was}"]`) ?? null);
    returnTo = null;
    queueMicrotask(() => back?.focus());
  };
  return {
    open,
    /** Open `id` (or close it if open). The element that had focus gets it back on close. */
    toggle: (id: Id) => {
      if (open() === id) return close();
      if (!open()) returnTo = document.activeElement instanceof HTMLElement && document.activeElement !== document.body ? document.activeElement : null;
      setOpen(() => id);
    },
    show: (id: Id) => {
      if (open() === id) return;
      if (!open()) returnTo = document.activeElement instanceof HTMLElement && document.activeElement !== document.body ? document.activeElement : null;
      setOpen(() => id);
    },
    close,
  };
}

/**
 * A side panel: beside the stage on a wide screen, a sheet over it on a phone (CSS). Focus moves to its heading when it
 * opens; Escape anywhere (outside dialogs and menus, which handle their own) closes it.
 */
export function Panel(props: { id: string; title: string; onClose: () => void; children: JSX.Element; wide?: boolean; headerExtra?: JSX.Element }) {
  let heading!: HTMLHeadingElement;
  onMount(() => heading.focus({ preventScroll: true }));
  const onKey = (e: KeyboardEvent) => {
    if (e.key !== "Escape" || e.defaultPrevented) return;
    if (document.querySelector("dialog[open]")) return;
    e.preventDefault();
    props.onClose();
  };
  document.addEventListener("keydown", onKey);
  onCleanup(() => document.removeEventListener("keydown", onKey));
  return (
    <aside class={`panel ${props.wide ? "wide" : ""}`} aria-labelledby={`panel-title-${props.id}`} data-testid={`panel-${props.id}`}>
      <header class="panel-header">
        <h2 id={`panel-title-${props.id}`} tabindex="-1" ref={heading}>
          {props.title}
        </h2>
        {props.headerExtra}
        <button type="button" class="icon-button" onClick={() => props.onClose()} aria-label={`Close ${props.title.toLowerCase()}`} data-testid="panel-close">
          <Icon name="close" />
        </button>
      </header>
      <div class="panel-body">{props.children}</div>
    </aside>
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Control bar buttons
// ---------------------------------------------------------------------------------------------------------------

/**
 * One control-bar button: an icon over a short visible label (hidden visually on a phone, still its accessible
 * name). `pressed` makes it a toggle (aria-pressed). `unavailable` keeps it focusable but inert, with the reason
 * as its description and tooltip (a disabled button would be skipped by the keyboard and explain nothing).
 */
export function ControlButton(props: {
  icon: IconName;
  label: string;
  onClick?: () => void;
  pressed?: boolean;
  /** Red when a toggle is off (microphone, camera). */
  offWhenUnpressed?: boolean;
  badge?: number | null;
  /** What the badge counts, for screen readers ("waiting", "unread"). */
  badgeText?: string;
  unavailable?: string | null;
  disabled?: boolean;
  tone?: "danger";
  testid?: string;
  panel?: string;
  class?: string;
  expanded?: boolean;
}) {
  const descId = `ctl-desc-${++menuSeq}`;
  const [said, setSaid] = createSignal(false);
  let timer: ReturnType<typeof setTimeout> | undefined;
  onCleanup(() => clearTimeout(timer));
  return (
    <span class={`ctl-wrap ${props.class ?? ""}`}>
      <button
        type="button"
        class={`ctl ${props.tone === "danger" ? "danger" : ""} ${props.offWhenUnpressed && props.pressed === false ? "off" : ""} ${props.pressed && !props.offWhenUnpressed ? "on" : ""}`}
        aria-pressed={props.pressed === undefined ? undefined : props.pressed}
        aria-expanded={props.expanded === undefined ? undefined : props.expanded}
        aria-disabled={props.unavailable ? "true" : undefined}
        aria-describedby={props.unavailable ? descId : undefined}
        title={props.unavailable ?? props.label}
        disabled={props.disabled}
        data-testid={props.testid}
        data-panel-toggle={props.panel}
        onClick={() => {
          if (props.unavailable) {
            setSaid(true);
            clearTimeout(timer);
            timer = setTimeout(() => setSaid(false), 4000);
            return;
          }
          props.onClick?.();
        }}
      >
        <Icon name={props.icon} />
        <span class="ctl-label">{props.label}</span>
        <Show when={props.badge}>
          <span class="count-badge" aria-hidden="true">
            {props.badge}
          </span>
          <span class="visually-hidden">{` (${props.badge} ${props.badgeText ?? ""})`}</span>
        </Show>
      </button>
      <Show when={props.unavailable}>
        <span id={descId} class="visually-hidden">
          {props.unavailable}
        </span>
        <Show when={said()}>
          <span class="ctl-tip" role="status">
            {props.unavailable}
          </span>
        </Show>
      </Show>
    </span>
  );
}
