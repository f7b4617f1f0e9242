/**
 * The signed-in user as a signal, so the app header (the operator's "Monitoring" link) and the pages follow sign-in
 * and sign-out. Stored in sessionStorage like the rest (storage.ts).
 */
import { createSignal } from "solid-js";
import type { SignedInUser } from "./api";
import { storage } from "./storage";

const [user, setUser] = createSignal<SignedInUser | null>(storage.user());

export const currentUser = user;

export function setCurrentUser(u: SignedInUser | null): void {
  storage.setUser(u);
  setUser(u);
}

/** An operator (app role "operator": the development sign-in's role, or the identity provider's role claim). */
export function isOperator(u: SignedInUser | null): boolean {
  return u?.user.appRole === "operator";
}
