/** Media errors in plain words (web/src/lib/media-errors.ts), for the codes TWILIO.md names and the device failures. */
import { describe, expect, it } from "vitest";
import { explainMediaError, mediaErrorCode } from "../../web/src/lib/media-errors";

/** As twilio-video raises them: an Error subclass with a numeric `code`. */
class TwilioError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
    this.name = "TwilioError";
  }
}

describe("explainMediaError", () => {
  it.each([
    [20104, "Your video pass expired.", "reconnect"],
    [53205, "You joined from another tab or device.", "reconnect"],
    [53105, "This video room is full.", "wait"],
    [53000, "The video service could not be reached.", "reconnect"],
    [53001, "The connection to the video service dropped.", "reconnect"],
    [53118, "This video room has closed.", "wait"],
    [53405, "Your video connection could not be set up.", "reconnect"],
  ])("Twilio %i", (code, title, action) => {
    const out = explainMediaError(new TwilioError(code, "raw SDK text"));
    expect(out).toMatchObject({ code: String(code), title, action });
    expect(out.advice.length).toBeGreaterThan(20);
    expect(out.advice).not.toContain("raw SDK text");
  });

  it("names what to do about blocked UDP/3478 for media-path failures", () => {
    expect(explainMediaError(new TwilioError(53405, "Media connection failed")).advice).toMatch(/UDP|3478/);
  });

  it("room full is for staff to fix, an expired token is not", () => {
    expect(explainMediaError(new TwilioError(53105, "")).tellStaff).toBe(true);
    expect(explainMediaError(new TwilioError(20104, "")).tellStaff).toBe(false);
  });

  it("device failures by DOMException name", () => {
    const blocked = new DOMException("Permission denied", "NotAllowedError");
    expect(explainMediaError(blocked)).toMatchObject({ code: "NotAllowedError", action: "devices", title: "Camera or microphone access is blocked." });
    expect(explainMediaError(new DOMException("busy", "NotReadableError")).advice).toMatch(/another app|other video apps/i);
    expect(explainMediaError(new DOMException("", "SecurityError")).advice).toMatch(/https:\/\//);
  });

  it("unknown codes fall back by family, anything else to a generic reconnect", () => {
    expect(explainMediaError(new TwilioError(53099, "")).title).toBe("The video service could not be reached.");
    expect(explainMediaError(new TwilioError(53499, "")).title).toBe("Your video connection could not be set up.");
    expect(explainMediaError(new Error("what")).action).toBe("reconnect");
    expect(explainMediaError(undefined)).toMatchObject({ code: "", action: "reconnect" });
  });

  it("reads codes from numbers, strings and objects", () => {
    expect(mediaErrorCode(20104)).toBe("20104");
    expect(mediaErrorCode({ code: "ice_failed" })).toBe("ice_failed");
    expect(mediaErrorCode({ code: 404, name: "HttpError" })).toBe("HttpError");
    expect(explainMediaError("ice_failed").title).toBe("Could not connect to the others in this room.");
  });
});
