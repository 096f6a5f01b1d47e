/** 412: someone else saved first. The user's edits stay in the form (campaigns, targeting, alert rules). */
export function ConflictNotice({
  what,
  onLoadTheirs,
  onKeepMine,
  busy,
}: {
  what: string;
  onLoadTheirs: () => void;
  onKeepMine: () => void;
  busy?: boolean;
}) {
  return (
    <div className="notice notice-warn" role="alert">
      <p>
        <strong>Someone else changed this {what} since you opened it.</strong> Your changes have not been saved and
        are still in the form.
      </p>
      <div className="actions">
        <button type="button" className="btn" onClick={onLoadTheirs} disabled={busy}>
          Load their version (discard my changes)
        </button>
        <button type="button" className="btn" onClick={onKeepMine} disabled={busy}>
          Keep my changes and save over theirs
        </button>
      </div>
    </div>
  );
}
