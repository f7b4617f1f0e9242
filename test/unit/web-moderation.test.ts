/** Staff moderation rules of the web client (web/src/lib/moderation.ts). */
import { describe, expect, it } from "vitest";
import { allowedTracks, blockedReason, handsSummary, moderationActions, raisedHands, type ModeratedPerson } from "../../web/src/lib/moderation";

const person = (over: Partial<ModeratedPerson> = {}): ModeratedPerson => ({
  id: "m2",
  name: "Ana",
  role: "participant",
  media: { mic: true, cam: true, screen: false },
  blocked: { audio: false, video: false, screen: false },
  hand: null,
  ...over,
});
const ids = (p: ModeratedPerson, spotlit = false) => moderationActions(p, { spotlit, place: "main" }).map((a) => a.id);

describe("moderation actions", () => {
  it("offers mute, camera off and spotlight for a participant with media on", () => {
    expect(ids(person())).toEqual(["block-audio", "block-video", "spotlight"]);
    const mute = moderationActions(person(), { spotlit: false, place: "r2" })[0];
    expect(mute.command).toEqual({ type: "blockMedia", memberId: "m2", kind: "audio" });
    const spot = moderationActions(person(), { spotlit: false, place: "r2" }).find((a) => a.id === "spotlight");
    expect(spot?.command).toEqual({ type: "spotlight", memberId: "m2", location: "r2" });
  });

  it("asks to unmute someone muted (allowMedia audio), also when they only turned it off themselves", () => {
    expect(ids(person({ blocked: { audio: true, video: false, screen: false }, media: { mic: false, cam: true, screen: false } }))).toContain("allow-audio");
    const self = moderationActions(person({ media: { mic: false, cam: true, screen: false } }), { spotlit: false, place: null });
    expect(self.find((a) => a.id === "ask-unmute")?.command).toEqual({ type: "allowMedia", memberId: "m2", kind: "audio" });
  });

  it("stops a share, allows what was blocked, lowers a hand, removes the spotlight", () => {
    expect(ids(person({ media: { mic: true, cam: true, screen: true } }))).toContain("block-screen");
    expect(ids(person({ blocked: { audio: false, video: true, screen: true } }))).toEqual(["block-audio", "allow-video", "allow-screen", "spotlight"]);
    expect(ids(person({ hand: 5 }), true)).toEqual(["block-audio", "block-video", "unspotlight", "lower-hand"]);
    expect(moderationActions(person(), { spotlit: true, place: "main" }).find((a) => a.id === "unspotlight")?.command).toEqual({
      type: "spotlight",
      memberId: null,
      location: "main",
    });
  });

  it("offers nothing for staff (the session refuses staff moderating staff)", () => {
    expect(ids(person({ role: "cofacilitator" }))).toEqual([]);
  });
});

describe("hands", () => {
  it("lists raised hands of admitted people, first raised first", () => {
    const list = [
      { id: "a", hand: 30, status: "admitted" },
      { id: "b", hand: null, status: "admitted" },
      { id: "c", hand: 10, status: "admitted" },
      { id: "d", hand: 5, status: "left" },
    ];
    expect(raisedHands(list).map((m) => m.id)).toEqual(["c", "a"]);
  });

  it("says who raised a hand in one line", () => {
    expect(handsSummary(["Ana"])).toBe("Ana raised a hand");
    expect(handsSummary(["Ana", "Ben"])).toBe("Ana and Ben raised hands");
    expect(handsSummary(["Ana", "Ben", "Cai", "Dee"])).toBe("Ana, Ben and 2 others raised hands");
  });
});

describe("blocked tracks (local mode enforcement)", () => {
  it("drops what staff blocked; a screen riding on the camera's sender follows the screen block", () => {
    expect(allowedTracks(null, false)).toEqual({ audio: true, video: true, screen: true });
    expect(allowedTracks({ audio: true, video: false, screen: false }, false)).toEqual({ audio: false, video: true, screen: true });
    expect(allowedTracks({ audio: false, video: true, screen: false }, false).video).toBe(false);
    expect(allowedTracks({ audio: false, video: true, screen: false }, true).video).toBe(true);
    expect(allowedTracks({ audio: false, video: false, screen: true }, true).video).toBe(false);
  });

  it("explains a blocked control plainly", () => {
    expect(blockedReason("audio")).toMatch(/muted you/);
    expect(blockedReason("video")).toMatch(/camera/);
  });
});
