/**
 * Opening rooms without staff (supervisedRooms): the server refuses with UNSUPERVISED_ROOM, naming the rooms; the
 * facilitator confirms and the same command goes again with `confirmUnsupervised: true`. Used by "Open rooms"
 * (Breakouts.tsx) and a plan's "Next step" (Plan.tsx).
 */
import { createSignal, type JSX } from "solid-js";
import { CommandError } from "../../lib/session-core";
import type { createAction } from "../common";
import { ConfirmDialog } from "../room/ui";

/** `send(confirm)` runs the command through `action`; a refusal for rooms without staff opens the confirmation. */
export function createUnsupervisedConfirm(action: ReturnType<typeof createAction>, send: (confirmUnsupervised: boolean) => Promise<unknown>) {
  const [rooms, setRooms] = createSignal<string | null>(null);
  const run = async (confirmUnsupervised: boolean) => {
    const ok = await action.run(async () => {
      try {
        return await send(confirmUnsupervised);
      } catch (e) {
        if (e instanceof CommandError && e.code === "UNSUPERVISED_ROOM" && !confirmUnsupervised) {
          setRooms(e.message.split(";")[0] ?? e.message);
          return null;
        }
        throw e;
      }
    });
    if (ok) setRooms(null);
  };
  return { rooms, run, dismiss: () => setRooms(null) };
}

export function UnsupervisedDialog(props: {
  confirm: ReturnType<typeof createUnsupervisedConfirm>;
  action: ReturnType<typeof createAction>;
  testid: string;
  confirmTestid: string;
  children: JSX.Element;
}) {
  return (
    <ConfirmDialog
      open={props.confirm.rooms() !== null}
      title="Open rooms without a facilitator?"
      confirmLabel="Open anyway"
      cancelLabel="Not yet"
      pending={props.action.pending()}
      error={props.action.error()}
      testid={props.testid}
      confirmTestid={props.confirmTestid}
      onConfirm={() => void props.confirm.run(true)}
      onClose={props.confirm.dismiss}
    >
      <p data-testid="unsupervised-rooms">{props.confirm.rooms()}.</p>
      {props.children}
    </ConfirmDialog>
  );
}
