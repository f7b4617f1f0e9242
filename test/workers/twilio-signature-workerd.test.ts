/**
 * lib/twilio/signature.ts inside workerd: its query re-encoding comes from `node:querystring` (nodejs_compat), which
 * here is workerd's own module, not Node's. It must give Node's answers (the vectors were made with Node and are
 * checked against it in test/unit/twilio-signature.test.ts), so signature verdicts are the same in both runtimes.
 */
import { describe, expect, it } from "vitest";
import { expectedTwilioSignature, urlWithLegacyQuerystring, validateTwilioRequest } from "../../lib/twilio/signature";
import legacyVectors from "../fixtures/legacy-querystring.json";

describe("Twilio signatures in workerd", () => {
  it("node:querystring re-encodes every shared vector exactly as Node does", () => {
    const wrong = legacyVectors.vectors.filter(
      ({ query, legacy }) => urlWithLegacyQuerystring(`https://h.example/p?${query}`) !== `https://h.example/p?${legacy}`,
    );
    expect(wrong).toEqual([]);
    expect(legacyVectors.vectors.length).toBeGreaterThan(250);
  });

  it("twilio-node's own vector validates (TWILIO.md)", async () => {
    const params = { CallSid: "CA1234567890ABCDE", Caller: "+14158675309", Digits: "1234", From: "+14158675309", To: "+18005551212" };
    expect(await validateTwilioRequest("12345", "RSOYDt4T1cUTdK1PDd93/VVr8B8=", "https://mycompany.com/myapp.php?foo=1&bar=2", params)).toBe(true);
  });

  it("a signature made over the legacy re-encoded URL validates for the URL as received", async () => {
    const received = "https://mycompany.com/myapp.php?name=a+b&q='x'&k=%7e";
    const signedForm = urlWithLegacyQuerystring(new URL(received).toString());
    expect(signedForm).toBe("https://mycompany.com/myapp.php?name=a%20b&q='x'&k=~");
    const signature = await expectedTwilioSignature("12345", signedForm, { Digits: "1" });
    expect(await validateTwilioRequest("12345", signature, received, { Digits: "1" })).toBe(true);
    expect(await validateTwilioRequest("12345", signature, received, { Digits: "2" })).toBe(false);
  });
});
