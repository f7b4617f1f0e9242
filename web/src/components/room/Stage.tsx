/**
 * The video stage: the gallery (every tile of the room fitted into the stage at 16:9, paged beyond what fits at a
 * readable size, 25 at most) or the speaker view (one featured tile, the others in a strip, my own video as a small
 * picture-in-picture). Tiles show the name, a role badge (Facilitator / Co-facilitator), microphone off, connection
 * quality, pinned / spotlight, and a speaking ring. Remote audio plays from a separate, always-present sink, so a
 * person on another gallery page (or off the strip) is still heard.
 */
import { createEffect, createMemo, createSignal, For, on, onCleanup, Show } from "solid-js";
import type { Role } from "../../../../lib/protocol";
import { featuredId, featuredRect, galleryLayout, TILE_ASPECT, type Rect } from "../../lib/layout";
import type { MediaSession, Tile } from "../../lib/media-session";
import type { RemoteTrack } from "../../media/provider";
import { QualityBars } from "../common";
import { Icon } from "./icons";
import { createElementSize, MenuButton, type MenuItem } from "./ui";

export type StageView = "gallery" | "speaker";

export interface StagePerson {
  name: string;
  role: Role | null;
  memberId: string;
  /** Connection quality the session knows (staff state), used when the media layer has none for this tile. */
  quality?: number | null;
  /** When they raised their hand (shown on the tile), or null. */
  hand?: number | null;
}

export function initials(name: string): string {
  return (
    name
      .split(/\s+/)
      .filter(Boolean)
      .slice(0, 2)
      .map((w) => w[0]!.toUpperCase())
      .join("") || "?"
  );
}

export function roleLabel(role: Role | null | undefined): string | null {
  if (role === "facilitator") return "Facilitator";
  if (role === "cofacilitator") return "Co-facilitator";
  return null;
}

const ROLE_ORDER: Record<string, number> = { facilitator: 0, cofacilitator: 1, participant: 2 };

const GAP = 8;
const PAGER_H = 44;

/** Attach one remote track to a media element for as long as both exist (memoized: re-attaching restarts playback). */
function useAttached(getEl: () => HTMLMediaElement | undefined, track: () => RemoteTrack | null) {
  const current = createMemo(track);
  createEffect(() => {
    const t = current();
    const el = getEl();
    if (!t || !el) return;
    t.attach(el);
    void el.play?.().catch(() => {});
    onCleanup(() => t.detach(el));
  });
}

/** Every remote person's audio, whatever is on screen. */
export function AudioSink(props: { media: MediaSession; memberIdFor: (id: string) => string }) {
  return (
    <div class="visually-hidden" aria-hidden="true">
      <For each={props.media.tiles()}>
        {(tile) => {
          let el: HTMLAudioElement | undefined;
          useAttached(
            () => el,
            () => tile.audio,
          );
          // biome-ignore lint/a11y/useMediaCaption: live call audio; there is no caption track to give
          return <audio ref={el} autoplay data-member-id={props.memberIdFor(tile.id)} />;
        }}
      </For>
    </div>
  );
}

function rectStyle(r: Rect | null | undefined) {
  if (!r) return undefined;
  return { left: `${r.x}px`, top: `${r.y}px`, width: `${r.width}px`, height: `${r.height}px` };
}

interface TileActions {
  pinned: string | null;
  spotlight: string | null;
  canSpotlight: boolean;
  onPin: (id: string | null) => void;
  onSpotlight: (id: string | null) => void;
  /** Staff: moderation items for this person's tile menu (mute, camera off, …). */
  moreItems?: (memberId: string) => MenuItem[];
}

function Badges(props: { role: Role | null | undefined; pinned?: boolean; spotlit?: boolean; sharing?: boolean; self?: boolean; hand?: boolean }) {
  return (
    <span class="tile-badges">
      <Show when={props.hand}>
        <span class="tile-badge hand" data-testid="hand-badge">
          <Icon name="hand" />
          Hand raised
        </span>
      </Show>
      <Show when={roleLabel(props.role)}>
        {(r) => (
          <span class="tile-badge role" data-testid="role-badge">
            {r()}
          </span>
        )}
      </Show>
      <Show when={props.spotlit}>
        <span class="tile-badge">Spotlight</span>
      </Show>
      <Show when={props.pinned}>
        <span class="tile-badge">Pinned</span>
      </Show>
      <Show when={props.sharing}>
        <span class="tile-badge">Sharing screen</span>
      </Show>
    </span>
  );
}

export function RemoteTileView(props: {
  tile: Tile;
  person: StagePerson;
  rect?: Rect | null;
  variant: "grid" | "featured" | "strip";
  speaking: boolean;
  renderVideo: boolean;
  actions: TileActions;
}) {
  let videoEl: HTMLVideoElement | undefined;
  const sharing = () => isSharing(props.tile);
  const shown = () => (props.renderVideo ? (props.tile.screen ?? props.tile.video) : null);
  useAttached(() => videoEl, shown);
  const showVideo = () => shown() !== null && (sharing() || props.tile.videoEnabled);
  const pinned = () => props.actions.pinned === props.tile.id;
  const spotlit = () => props.actions.spotlight === props.tile.id;
  const name = () => props.person.name;
  const quality = () => props.tile.quality ?? props.person.quality ?? null;
  const items = (): MenuItem[] => {
    const list: MenuItem[] = [
      pinned()
        ? { id: "unpin", label: "Unpin", onSelect: () => props.actions.onPin(null), icon: "pin", testid: "tile-unpin" }
        : {
            id: "pin",
            label: "Pin for me",
            hint: "Keeps them large on your screen",
            onSelect: () => props.actions.onPin(props.tile.id),
            icon: "pin",
            testid: "tile-pin",
          },
    ];
    if (props.actions.canSpotlight)
      list.push(
        spotlit()
          ? { id: "unspot", label: "Remove spotlight", onSelect: () => props.actions.onSpotlight(null), icon: "spotlight", testid: "tile-unspotlight" }
          : {
              id: "spot",
              label: "Spotlight for everyone",
              hint: "Everyone in this room sees them large",
              onSelect: () => props.actions.onSpotlight(props.tile.id),
              icon: "spotlight",
              testid: "tile-spotlight",
            },
      );
    const more = props.actions.moreItems?.(props.person.memberId) ?? [];
    if (more.length > 0) list.push({ ...more[0], separatorBefore: true }, ...more.slice(1));
    return list;
  };
  return (
    <figure
      class={`tile ${props.variant} ${props.speaking ? "speaking" : ""} ${sharing() ? "screen" : ""}`}
      style={rectStyle(props.rect)}
      data-testid="remote-tile"
      data-participant-id={props.tile.id}
      data-member-id={props.person.memberId}
    >
      <video
        ref={videoEl}
        autoplay
        playsinline
        muted
        data-member-id={props.person.memberId}
        aria-label={`${name()}'s ${sharing() ? "screen" : "video"}`}
        classList={{ invisible: !showVideo() }}
      />
      <Show when={!showVideo()}>
        <div class="avatar" aria-hidden="true">
          <span>{initials(name())}</span>
        </div>
      </Show>
      <div class="tile-top">
        <Badges role={props.person.role} pinned={pinned()} spotlit={spotlit()} sharing={sharing()} hand={(props.person.hand ?? null) !== null} />
        <span class="tile-actions">
          <MenuButton label={`Options for ${name()}`} class="tile-menu-button" items={items} testid={`tile-options-${props.person.memberId}`}>
            <Icon name="more" />
          </MenuButton>
        </span>
      </div>
      <figcaption class="tile-caption">
        <span class="tile-name">
          <Show when={!props.tile.audioEnabled || props.tile.mutedByStaff}>
            <span class="mic-off" title={props.tile.mutedByStaff ? "Muted by the facilitator" : "Microphone off"} data-testid="mic-off">
              <Icon name="micOff" />
              <span class="visually-hidden">{props.tile.mutedByStaff ? "Muted by the facilitator, " : "Microphone off, "}</span>
            </span>
          </Show>
          <span class="name-text">{name()}</span>
          <Show when={props.speaking}>
            <span class="visually-hidden"> (speaking)</span>
          </Show>
        </span>
        <span class="row tight">
          <Show when={!props.renderVideo && props.tile.video}>
            <span class="tile-badge">Video paused</span>
          </Show>
          <QualityBars level={quality()} label={name()} />
        </span>
      </figcaption>
    </figure>
  );
}

export function SelfTileView(props: { media: MediaSession; name: string; role: Role | null; rect?: Rect | null; variant: "grid" | "featured" | "pip" }) {
  const m = props.media;
  let el!: HTMLVideoElement;
  const track = () => (m.screen() ?? m.local().video) as MediaStreamTrack | null;
  createEffect(() => {
    const v = track();
    el.srcObject = v ? new MediaStream([v]) : null;
    if (v) void el.play().catch(() => {});
  });
  const sharing = () => m.screen() !== null;
  const showVideo = () => (sharing() || m.camOn()) && track() !== null;
  return (
    <figure class={`tile self ${props.variant} ${sharing() ? "screen" : ""}`} style={rectStyle(props.rect)} data-testid="local-tile">
      <video
        ref={el}
        classList={{ mirror: !sharing(), invisible: !showVideo() }}
        autoplay
        playsinline
        muted
        aria-label={sharing() ? "Your shared screen" : "Your camera"}
        data-testid="local-video"
      />
      <Show when={!showVideo()}>
        <div class="avatar" aria-hidden="true">
          <span>{initials(props.name)}</span>
        </div>
      </Show>
      <div class="tile-top">
        <Badges role={props.role} sharing={sharing()} self />
      </div>
      <figcaption class="tile-caption">
        <span class="tile-name">
          <Show when={!m.micOn()}>
            <span class="mic-off" title="Your microphone is off">
              <Icon name="micOff" />
              <span class="visually-hidden">Microphone off, </span>
            </span>
          </Show>
          <span class="name-text">{props.name} (you)</span>
        </span>
        <QualityBars level={m.localQuality()} label="Your connection" />
      </figcaption>
    </figure>
  );
}

/** Sharing a screen: a separate screen track (Twilio) or the camera's place taken by the screen (local mesh). */
export const isSharing = (t: Tile) => t.sharing || t.screen !== null;

type Entry = { kind: "self" } | { kind: "remote"; tile: Tile };
const SELF: Entry = { kind: "self" };

export function Stage(props: {
  media: MediaSession;
  self: { name: string; role: Role | null };
  person: (tileId: string) => StagePerson;
  view: StageView;
  pinned: string | null;
  spotlight: string | null;
  canSpotlight: boolean;
  onPin: (id: string | null) => void;
  onSpotlight: (id: string | null) => void;
  /** Staff: moderation items added to each tile's menu. */
  moreItems?: (memberId: string) => MenuItem[];
}) {
  const m = props.media;
  const [el, setEl] = createSignal<HTMLDivElement>();
  const size = createElementSize(el);
  const [page, setPage] = createSignal(0);
  const [lastDominant, setLastDominant] = createSignal<string | null>(null);
  createEffect(
    on(m.dominantSpeaker, (d) => {
      if (d) setLastDominant(d);
    }),
  );

  const ordered = createMemo(() => {
    const list = [...m.tiles()];
    const role = (t: Tile) => ROLE_ORDER[props.person(t.id).role ?? "participant"] ?? 2;
    return list.sort((a, b) => role(a) - role(b) || a.joinedAt - b.joinedAt || (a.id < b.id ? -1 : 1));
  });
  const actions: TileActions = {
    get pinned() {
      return props.pinned;
    },
    get spotlight() {
      return props.spotlight;
    },
    get canSpotlight() {
      return props.canSpotlight;
    },
    onPin: (id) => props.onPin(id),
    onSpotlight: (id) => props.onSpotlight(id),
    moreItems: (id) => props.moreItems?.(id) ?? [],
  };
  const phone = () => size().width < 600;

  // ---- Gallery --------------------------------------------------------------------------------------------------
  const entries = createMemo<Entry[]>(() => [...ordered().map((tile): Entry => ({ kind: "remote", tile })), SELF]);
  // Entries are rebuilt when the list changes; keep one object per tile so <For> keeps each tile's element.
  const entryCache = new Map<Tile, Entry>();
  const stableEntries = createMemo<Entry[]>(() => {
    const out: Entry[] = [];
    const seen = new Set<Tile>();
    for (const e of entries()) {
      if (e.kind === "self") {
        out.push(SELF);
        continue;
      }
      seen.add(e.tile);
      let cached = entryCache.get(e.tile);
      if (!cached) entryCache.set(e.tile, (cached = e));
      out.push(cached);
    }
    for (const k of [...entryCache.keys()]) if (!seen.has(k)) entryCache.delete(k);
    return out;
  });
  const gallery = createMemo(() => {
    const { width, height } = size();
    const n = stableEntries().length;
    const opts = { gap: GAP, minTileWidth: phone() ? 120 : 160 };
    let g = galleryLayout(n, width, height, page(), opts);
    if (g.pages > 1) g = galleryLayout(n, width, height - PAGER_H, page(), opts);
    return g;
  });
  createEffect(() => {
    const g = gallery();
    if (g.page !== page()) setPage(g.page);
  });
  const visible = createMemo(() => stableEntries().slice(gallery().start, gallery().end));
  const rendered = createMemo(() =>
    m.rendered(
      props.view === "gallery"
        ? visible().flatMap((e) => (e.kind === "remote" ? [e.tile.id] : []))
        : [featured(), ...strip().map((t) => t.id)].filter((x): x is string => x !== null),
    ),
  );

  // ---- Speaker view ---------------------------------------------------------------------------------------------
  const featured = createMemo(() =>
    props.view !== "speaker"
      ? null
      : featuredId({
          spotlight: props.spotlight,
          pinned: props.pinned,
          sharing: ordered()
            .filter(isSharing)
            .map((t) => t.id),
          dominant: m.dominantSpeaker(),
          lastDominant: lastDominant(),
          remoteIds: ordered().map((t) => t.id),
        }),
  );
  const featuredTile = createMemo(() => ordered().find((t) => t.id === featured()) ?? null);
  const strip = createMemo(() => ordered().filter((t) => t.id !== featured()));
  const stripH = () => (strip().length === 0 ? 0 : phone() ? 72 : 104);
  const featuredArea = createMemo(() => {
    const { width, height } = size();
    const h = height - (stripH() ? stripH() + GAP : 0);
    return featuredRect(width, Math.max(0, h));
  });
  const pipRect = createMemo<Rect>(() => {
    const f = featuredArea();
    const w = Math.round(Math.max(phone() ? 104 : 150, Math.min(240, f.width * 0.22)));
    const h = Math.round(w / TILE_ASPECT);
    return { x: f.x + f.width - w - 10, y: f.y + f.height - h - 10, width: w, height: h };
  });

  const speakingId = () => m.dominantSpeaker();
  const speakingName = () => {
    const id = speakingId();
    return id ? props.person(id).name : null;
  };

  return (
    <section class={`stage ${props.view}`} aria-label="Video" data-testid="video-grid" data-view={props.view}>
      <p class="visually-hidden" aria-live="polite">
        {speakingName() ? `${speakingName()} is speaking` : ""}
      </p>
      <div class="stage-area" ref={setEl} data-testid="stage-area">
        <Show when={props.view === "gallery"}>
          <For each={visible()}>
            {(entry, i) =>
              entry.kind === "self" ? (
                <SelfTileView media={m} name={props.self.name} role={props.self.role} rect={gallery().rects[i()]} variant="grid" />
              ) : (
                <RemoteTileView
                  tile={entry.tile}
                  person={props.person(entry.tile.id)}
                  rect={gallery().rects[i()]}
                  variant="grid"
                  speaking={speakingId() === entry.tile.id}
                  renderVideo={rendered().has(entry.tile.id)}
                  actions={actions}
                />
              )
            }
          </For>
        </Show>
        <Show when={props.view === "speaker"}>
          <Show
            when={featuredTile()}
            fallback={<SelfTileView media={m} name={props.self.name} role={props.self.role} rect={featuredArea()} variant="featured" />}
          >
            {(t) => (
              <>
                <RemoteTileView
                  tile={t()}
                  person={props.person(t().id)}
                  rect={featuredArea()}
                  variant="featured"
                  speaking={speakingId() === t().id}
                  renderVideo={rendered().has(t().id)}
                  actions={actions}
                />
                <SelfTileView media={m} name={props.self.name} role={props.self.role} rect={pipRect()} variant="pip" />
              </>
            )}
          </Show>
          <Show when={strip().length > 0}>
            <ul class="strip" style={{ height: `${stripH()}px` }} aria-label="Others in the room">
              <For each={strip()}>
                {(t) => (
                  <li class="strip-item" style={{ width: `${Math.round(stripH() * TILE_ASPECT)}px`, height: `${stripH()}px` }}>
                    <RemoteTileView
                      tile={t}
                      person={props.person(t.id)}
                      variant="strip"
                      speaking={speakingId() === t.id}
                      renderVideo={rendered().has(t.id)}
                      actions={actions}
                    />
                  </li>
                )}
              </For>
            </ul>
          </Show>
        </Show>
        <Show when={props.view === "gallery" && gallery().pages > 1}>
          <nav class="pager" aria-label="Gallery pages">
            <button
              type="button"
              class="icon-button"
              onClick={() => setPage(page() - 1)}
              disabled={gallery().page === 0}
              aria-label="Previous page"
              data-testid="page-prev"
            >
              <Icon name="prev" />
            </button>
            <span data-testid="page-label">
              Page {gallery().page + 1} of {gallery().pages}
            </span>
            <button
              type="button"
              class="icon-button"
              onClick={() => setPage(page() + 1)}
              disabled={gallery().page >= gallery().pages - 1}
              aria-label="Next page"
              data-testid="page-next"
            >
              <Icon name="next" />
            </button>
          </nav>
        </Show>
      </div>
    </section>
  );
}
