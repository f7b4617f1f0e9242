/**
 * The session state machine (XState v5). Pure: no I/O, no clocks, no timers. Time arrives in events (`now`),
 * deadlines live in the context and the Durable Object's alarm sends `tick`. It owns the lifecycle: which phase
 * handles which event, and what each does. Whether a member may run a command (role, membership, data) is the
 * rules' question, asked once by the engine before the machine sees the command (engine.ts).
 *
 *   live ─┬─ main ──createBreakouts──▶ breakout.preparing ──openBreakouts──▶ breakout.open
 *         │    ▲                              │ closeAll (cancel)                │ closeAll / round time up
 *         │    └──────── finishRound ◀────────┴──── (no open rooms) ◀── breakout.closing ◀┘
 *         └─ endSession / session time up ──▶ ended
 */
import { and, assign, emit, enqueueActions, setup, type SnapshotFrom } from "xstate";
import type { Notice, SessionPhase } from "../../lib/protocol";
import {
  contextPhase,
  memberByIdentity,
  openRooms,
  placeName,
  type CommandEvent,
  type SessionContext,
  type SessionEvent,
  type SessionInput,
  initialContext,
} from "./model";
import * as plan from "./plan";
import * as u from "./updates";

type Cmd<T extends CommandEvent["type"]> = Extract<CommandEvent, { type: T }>;
export type EmittedNotice = { type: "notice"; notice: Notice };

/** The phase a snapshot is in, as clients know it. */
export function phaseOf(snapshot: { matches: (v: any) => boolean }): SessionPhase {
  if (snapshot.matches("ended")) return "ended";
  if (snapshot.matches({ live: "main" })) return "main";
  if (snapshot.matches({ live: { breakout: "preparing" } })) return "preparing";
  if (snapshot.matches({ live: { breakout: "open" } })) return "open";
  return "closing";
}

const as = <T extends CommandEvent["type"]>(e: SessionEvent) => e as Cmd<T>;

export const sessionMachine = setup({
  types: {
    context: {} as SessionContext,
    events: {} as SessionEvent,
    input: {} as SessionInput,
    emitted: {} as EmittedNotice,
  },
  guards: {
    sessionTimeUp: ({ context, event }) => {
      const end = u.sessionEndsAt(context);
      return end !== null && event.now >= end;
    },
    roundTimeUp: ({ context, event }) => context.round?.endsAt != null && context.round.closesAt === null && event.now >= context.round.endsAt,
    warningDue: ({ context, event }) => {
      const w = u.warningAt(context);
      return w !== null && event.now >= w;
    },
    closingTimeUp: ({ context, event }) => context.round?.closesAt != null && event.now >= context.round.closesAt,
    noOpenRooms: ({ context }) => openRooms(context).length === 0,
    noClosingCountdown: ({ context }) => context.settings.closingCountdownSeconds === 0,
    mediaFailed: ({ context, event }) =>
      event.type === "mediaUpdated" && event.media.status === "failed" && context.media[event.media.key]?.status !== "failed",
    immediateClose: ({ context, event }) => (as<"closeAll">(event).countdownSeconds ?? context.settings.closingCountdownSeconds) === 0,
  },
  actions: {
    memberJoined: assign(({ context, event }) => u.memberJoined(context, event as Extract<SessionEvent, { type: "memberJoined" }>, contextPhase(context))),
    countAgreementDecline: assign(({ context }) => u.countAgreementDecline(context)),
    setConnection: assign(({ context, event }) => u.setConnection(context, event as Extract<SessionEvent, { type: "connection" }>)),
    setArrival: assign(({ context, event }) => u.setArrival(context, event as Extract<SessionEvent, { type: "arrival" }>)),
    setMediaProblem: assign(({ context, event }) => u.setMediaProblem(context, event as Extract<SessionEvent, { type: "mediaProblem" }>)),
    setQuality: assign(({ context, event }) => u.setQuality(context, event as Extract<SessionEvent, { type: "quality" }>)),
    setMedia: assign(({ context, event }) => u.setMedia(context, (event as Extract<SessionEvent, { type: "mediaUpdated" }>).media)),
    admit: assign(({ context, event }) => u.admit(context, as<"admit">(event), contextPhase(context))),
    deny: assign(({ context, event }) => u.deny(context, as<"deny">(event))),
    removeMember: assign(({ context, event }) => u.removeMember(context, as<"removeMember">(event))),
    leave: assign(({ context, event }) => u.leave(context, as<"leave">(event))),
    updateSettings: assign(({ context, event }) => u.updateSettings(context, as<"updateSettings">(event))),
    requestHelp: assign(({ context, event }) => u.requestHelp(context, as<"requestHelp">(event))),
    resolveHelp: assign(({ context, event }) => u.resolveHelp(context, as<"resolveHelp">(event))),
    visitRoom: assign(({ context, event }) => u.visitRoom(context, as<"visitRoom">(event))),
    createBreakouts: assign(({ context, event }) => u.createBreakouts(context, as<"createBreakouts">(event))),
    addRoom: assign(({ context, event }) => u.addRoom(context, as<"addRoom">(event))),
    renameRoom: assign(({ context, event }) => u.renameRoom(context, as<"renameRoom">(event))),
    deleteRoom: assign(({ context, event }) => u.deleteRoom(context, as<"deleteRoom">(event))),
    autoAssignPlan: assign(({ context }) => u.autoAssignPlan(context)),
    assignPlan: assign(({ context, event }) => u.assignPlan(context, as<"assign">(event))),
    bulkAssign: assign(({ context, event }) => u.bulkAssign(context, as<"bulkAssign">(event), contextPhase(context))),
    preAssign: assign(({ context, event }) => u.preAssign(context, as<"preAssign">(event), contextPhase(context))),
    chooseRoom: assign(({ context, event }) => u.chooseRoom(context, as<"chooseRoom">(event), contextPhase(context))),
    openBreakouts: assign(({ context, event }) => u.openBreakouts(context, as<"openBreakouts">(event))),
    move: assign(({ context, event }) => u.move(context, as<"move">(event))),
    swap: assign(({ context, event }) => u.swap(context, as<"swap">(event))),
    setPairRule: assign(({ context, event }) => u.setPairRule(context, as<"setPairRule">(event))),
    returnToMain: assign(({ context, event }) => u.returnToMain(context, as<"returnToMain">(event))),
    returnToRoom: assign(({ context, event }) => u.returnToRoom(context, as<"returnToRoom">(event))),
    sendChat: assign(({ context, event }) => u.sendChat(context, as<"sendChat">(event))),
    broadcastToChat: assign(({ context, event }) => u.broadcastToChat(context, as<"broadcast">(event))),
    deleteChat: assign(({ context, event }) => u.deleteChat(context, as<"deleteChat">(event))),
    blockMedia: assign(({ context, event }) => u.blockMedia(context, as<"blockMedia">(event))),
    allowMedia: assign(({ context, event }) => u.allowMedia(context, as<"allowMedia">(event))),
    muteAll: assign(({ context, event }) => u.muteAll(context, as<"muteAll">(event))),
    spotlight: assign(({ context, event }) => u.spotlight(context, as<"spotlight">(event))),
    raiseHand: assign(({ context, event }) => u.raiseHand(context, as<"raiseHand">(event))),
    requestCheckIn: assign(({ context, event }) => u.requestCheckIn(context, as<"requestCheckIn">(event))),
    startCheckIn: assign(({ context, event }) => u.startCheckIn(context, as<"startCheckIn">(event))),
    endCheckIn: assign(({ context, event }) => u.endCheckIn(context, as<"endCheckIn">(event))),
    emitCheckInRequested: emit(({ context, event }) => {
      const m = context.members[as<"requestCheckIn">(event).actor.memberId];
      return { type: "notice", notice: { kind: "checkInRequested", memberId: m.id, name: m.name, location: m.location } } as EmittedNotice;
    }),
    setAlias: assign(({ context, event }) => u.setAlias(context, as<"setAlias">(event))),
    lowerHand: assign(({ context, event }) => u.lowerHand(context, as<"lowerHand">(event))),
    setMemberMedia: assign(({ context, event }) => u.setMemberMedia(context, as<"setMedia">(event))),
    closeRoom: assign(({ context, event }) => u.closeRoom(context, as<"closeRoom">(event))),
    startClosingCountdown: assign(({ context, event }) => {
      const seconds =
        event.type === "closeAll" ? (event.countdownSeconds ?? context.settings.closingCountdownSeconds) : context.settings.closingCountdownSeconds;
      return u.startClosingCountdown(context, seconds, event.now);
    }),
    extendRound: assign(({ context, event }) => u.extendRound(context, as<"extendRound">(event))),
    cancelClosing: assign(({ context, event }) => u.cancelClosing(context, as<"cancelClosing">(event))),
    closeExpiredEmptyRooms: assign(({ context, event }) => u.closeRooms(context, u.expiredEmptyRooms(context, event.now), event.now)),
    markWarned: assign(({ context }) => ({ round: { ...context.round!, warned: true } })),
    finishRound: assign(({ context, event }) => u.finishRound(context, event.now)),
    endByCommand: assign(({ context, event }) => u.endSession(context, event.now, "ended by facilitator")),
    endForTime: assign(({ context, event }) => u.endSession(context, event.now, "maximum session duration reached")),
    loadPlan: assign(({ context, event }) => plan.loadPlan(context, as<"loadPlan">(event))),
    // The step's breakout commands ran just before (engine.ts planStep): this only moves the plan on.
    advancePlan: assign(({ context, event }) => plan.advancePlan(context, as<"nextStep">(event))),

    // Notices: the Durable Object delivers them to the right audience.
    emitJoinRequest: emit(({ context, event }) => {
      const e = event as Extract<SessionEvent, { type: "memberJoined" }>;
      const m = Object.values(context.members).find((x) => x.identity === e.identity)!;
      return { type: "notice", notice: { kind: "joinRequest", memberId: m.id, name: m.name, note: m.joinNote ?? null } } as EmittedNotice;
    }),
    emitBroadcast: emit(({ event }) => {
      const e = as<"broadcast">(event);
      return { type: "notice", notice: { kind: "broadcast", text: e.text, roomId: e.roomId ?? null, from: e.actor.memberId } } as EmittedNotice;
    }),
    emitHelpRequested: emit(({ context, event }) => {
      const m = context.members[as<"requestHelp">(event).actor.memberId];
      return {
        type: "notice",
        notice: { kind: "helpRequested", memberId: m.id, name: m.name, location: m.location, message: m.helpRequest?.message ?? "" },
      } as EmittedNotice;
    }),
    // Before visitRoom's assign: the help the visit answers is that of the people there before it.
    emitHelpAnsweredByVisit: enqueueActions(({ context, event, enqueue }) => {
      for (const memberId of u.helpAnsweredByVisit(context, as<"visitRoom">(event).to))
        enqueue.emit({ type: "notice", notice: { kind: "helpResolved", memberId } } as EmittedNotice);
    }),
    emitMediaBlocked: emit(({ event }) => {
      const e = as<"blockMedia">(event);
      return { type: "notice", notice: { kind: "mediaBlocked", memberId: e.memberId, media: e.kind } } as EmittedNotice;
    }),
    emitMediaAllowed: emit(({ event }) => {
      const e = as<"allowMedia">(event);
      return { type: "notice", notice: { kind: "mediaAllowed", memberId: e.memberId, media: e.kind } } as EmittedNotice;
    }),
    // Before muteAll's assign: those it mutes are those not muted yet.
    emitMutedByMuteAll: enqueueActions(({ context, event, enqueue }) => {
      for (const memberId of u.mutedByMuteAll(context, as<"muteAll">(event)))
        enqueue.emit({ type: "notice", notice: { kind: "mediaBlocked", memberId, media: "audio" } } as EmittedNotice);
    }),
    emitMemberReturned: emit(({ context, event }) => {
      const m = context.members[as<"returnToMain">(event).actor.memberId];
      return {
        type: "notice",
        notice: { kind: "memberReturned", memberId: m.id, name: m.name, from: m.location ?? "", roomName: placeName(context, m.location) },
      } as EmittedNotice;
    }),
    emitHelpResolved: emit(({ event }) => ({ type: "notice", notice: { kind: "helpResolved", memberId: as<"resolveHelp">(event).memberId } }) as EmittedNotice),
    emitRoundWarning: emit(({ context }) => ({ type: "notice", notice: { kind: "roundWarning", endsAt: context.round!.endsAt! } }) as EmittedNotice),
    emitClosingCountdown: emit(
      ({ context }) => ({ type: "notice", notice: { kind: "closingCountdown", closesAt: context.round!.closesAt! } }) as EmittedNotice,
    ),
    emitRoomClosing: emit(({ event }) => ({ type: "notice", notice: { kind: "roomClosing", roomId: as<"closeRoom">(event).roomId } }) as EmittedNotice),
    emitMediaError: emit(({ event }) => {
      const m = (event as Extract<SessionEvent, { type: "mediaUpdated" }>).media;
      return { type: "notice", notice: { kind: "mediaError", key: m.key, message: m.error ?? "the media room could not be prepared" } } as EmittedNotice;
    }),
    emitUnexpectedConnection: emit(({ context, event }) => {
      const e = event as Extract<SessionEvent, { type: "mediaIntruder" }>;
      const m = memberByIdentity(context, e.identity) ?? context.members[e.identity];
      return {
        type: "notice",
        notice: { kind: "unexpectedConnection", key: e.key, roomName: placeName(context, e.key) ?? e.key, memberId: m?.id ?? null, name: m?.name ?? null },
      } as EmittedNotice;
    }),
    // Before the assign: whether this staff member was the last one (connected) in their open room.
    emitRoomLeftUnsupervised: enqueueActions(({ context, event, enqueue }) => {
      const e = event as Extract<SessionEvent, { type: "connection" | "leave" | "removeMember" }>;
      const memberId = e.type === "connection" || e.type === "removeMember" ? e.memberId : e.actor.memberId;
      if (e.type === "connection" && e.connected) return;
      const room = u.roomLeftUnsupervised(context, memberId);
      if (!room) return;
      const m = context.members[memberId];
      const reason = e.type === "connection" ? "disconnected" : "left";
      enqueue.emit({
        type: "notice",
        notice: { kind: "roomUnsupervised", roomId: room.id, roomName: room.name, memberId, name: m.name, reason },
      } as EmittedNotice);
    }),
    emitSessionEnded: emit(({ context }) => ({ type: "notice", notice: { kind: "sessionEnded", reason: context.endReason ?? "ended" } }) as EmittedNotice),
  },
}).createMachine({
  id: "session",
  context: ({ input }) => initialContext(input),
  initial: "live",
  states: {
    live: {
      initial: "main",
      on: {
        memberJoined: [{ guard: ({ context, event }) => willWait(context, event), actions: ["memberJoined", "emitJoinRequest"] }, { actions: "memberJoined" }],
        agreementDeclined: { actions: "countAgreementDecline" },
        connection: { actions: ["emitRoomLeftUnsupervised", "setConnection"] },
        arrival: { actions: "setArrival" },
        quality: { actions: "setQuality" },
        mediaProblem: { actions: "setMediaProblem" },
        mediaIntruder: { actions: "emitUnexpectedConnection" },
        mediaUpdated: [{ guard: "mediaFailed", actions: ["setMedia", "emitMediaError"] }, { actions: "setMedia" }],
        admit: { actions: "admit" },
        deny: { actions: "deny" },
        removeMember: { actions: ["emitRoomLeftUnsupervised", "removeMember"] },
        leave: { actions: ["emitRoomLeftUnsupervised", "leave"] },
        updateSettings: { actions: "updateSettings" },
        broadcast: { actions: ["emitBroadcast", "broadcastToChat"] },
        sendChat: { actions: "sendChat" },
        deleteChat: { actions: "deleteChat" },
        blockMedia: { actions: ["blockMedia", "emitMediaBlocked"] },
        allowMedia: { actions: ["allowMedia", "emitMediaAllowed"] },
        muteAll: { actions: ["emitMutedByMuteAll", "muteAll"] },
        spotlight: { actions: "spotlight" },
        raiseHand: { actions: "raiseHand" },
        setAlias: { actions: "setAlias" },
        requestCheckIn: { actions: ["requestCheckIn", "emitCheckInRequested"] },
        startCheckIn: { actions: "startCheckIn" },
        endCheckIn: { actions: "endCheckIn" },
        lowerHand: { actions: "lowerHand" },
        setMedia: { actions: "setMemberMedia" },
        requestHelp: { actions: ["requestHelp", "emitHelpRequested"] },
        resolveHelp: { actions: ["resolveHelp", "emitHelpResolved"] },
        loadPlan: { actions: "loadPlan" },
        nextStep: { actions: "advancePlan" },
        setPairRule: { actions: "setPairRule" },
        endSession: { target: "ended", actions: ["endByCommand", "emitSessionEnded"] },
        tick: { guard: "sessionTimeUp", target: "ended", actions: ["endForTime", "emitSessionEnded"] },
      },
      states: {
        main: {
          on: {
            createBreakouts: { target: "breakout", actions: "createBreakouts" },
          },
        },
        breakout: {
          initial: "preparing",
          on: {
            renameRoom: { actions: "renameRoom" },
            preAssign: { actions: "preAssign" },
          },
          states: {
            preparing: {
              on: {
                addRoom: { actions: "addRoom" },
                deleteRoom: { actions: "deleteRoom" },
                autoAssign: { actions: "autoAssignPlan" },
                assign: { actions: "assignPlan" },
                bulkAssign: { actions: "bulkAssign" },
                chooseRoom: { actions: "chooseRoom" },
                openBreakouts: { target: "open", actions: "openBreakouts" },
                // Cancelling before anything opened: rooms are discarded, nobody moved.
                closeAll: { target: "#session.live.main", actions: "finishRound" },
              },
            },
            open: {
              always: { guard: "noOpenRooms", target: "#session.live.main", actions: "finishRound" },
              on: {
                move: { actions: "move" },
                swap: { actions: "swap" },
                bulkAssign: { actions: "bulkAssign" },
                chooseRoom: { actions: "chooseRoom" },
                returnToMain: { actions: ["emitMemberReturned", "returnToMain"] },
                returnToRoom: { actions: "returnToRoom" },
                visitRoom: { actions: ["emitHelpAnsweredByVisit", "visitRoom"] },
                closeRoom: { actions: ["emitRoomClosing", "closeRoom"] },
                closeAll: [
                  { guard: "immediateClose", target: "#session.live.main", actions: "finishRound" },
                  { target: "closing", actions: ["startClosingCountdown", "emitClosingCountdown"] },
                ],
                extendRound: { actions: "extendRound" },
                tick: [
                  { guard: "sessionTimeUp", target: "#session.ended", actions: ["endForTime", "emitSessionEnded"] },
                  // Round over with no closing countdown configured: everyone back to main at the deadline itself.
                  { guard: and(["roundTimeUp", "noClosingCountdown"]), target: "#session.live.main", actions: "finishRound" },
                  { guard: "roundTimeUp", target: "closing", actions: ["closeExpiredEmptyRooms", "startClosingCountdown", "emitClosingCountdown"] },
                  { guard: "warningDue", actions: ["markWarned", "emitRoundWarning", "closeExpiredEmptyRooms"] },
                  { actions: "closeExpiredEmptyRooms" },
                ],
              },
            },
            closing: {
              always: { guard: "noOpenRooms", target: "#session.live.main", actions: "finishRound" },
              on: {
                move: { actions: "move" },
                swap: { actions: "swap" },
                returnToMain: { actions: ["emitMemberReturned", "returnToMain"] },
                returnToRoom: { actions: "returnToRoom" },
                visitRoom: { actions: ["emitHelpAnsweredByVisit", "visitRoom"] },
                closeRoom: { actions: ["emitRoomClosing", "closeRoom"] },
                // A second "close all" ends the countdown now.
                closeAll: { target: "#session.live.main", actions: "finishRound" },
                extendRound: { target: "open", actions: "extendRound" },
                cancelClosing: { target: "open", actions: "cancelClosing" },
                tick: [
                  { guard: "sessionTimeUp", target: "#session.ended", actions: ["endForTime", "emitSessionEnded"] },
                  { guard: "closingTimeUp", target: "#session.live.main", actions: "finishRound" },
                  { actions: "closeExpiredEmptyRooms" },
                ],
              },
            },
          },
        },
      },
    },
    ended: {
      on: {
        connection: { actions: "setConnection" },
        mediaUpdated: { actions: "setMedia" },
      },
    },
  },
});

export type SessionMachine = typeof sessionMachine;
export type SessionSnapshot = SnapshotFrom<SessionMachine>;

/**
 * Someone who will newly wait for admission (so staff get a join request): a participant without auto-admission,
 * or anyone (staff, returning members) held back because the session is full. Asks the update itself, so the
 * notice and the waiting room cannot disagree.
 */
function willWait(ctx: SessionContext, e: SessionEvent): boolean {
  if (e.type !== "memberJoined") return false;
  const before = memberByIdentity(ctx, e.identity);
  const after = memberByIdentity(u.memberJoined(ctx, e, contextPhase(ctx)), e.identity);
  return after?.status === "waiting" && before?.status !== "waiting";
}
