import { useEffect, useState } from 'react';
import { FieldErrors } from '../../../components/FieldErrors';
import {
  allowsRecent,
  countTerms,
  isCount,
  MAX_DEPTH,
  MAX_RECENT_MINUTES,
  MAX_TERMS,
  METRIC_LABELS,
  METRICS,
  newBudget,
  newComparison,
  newGroup,
  OP_LABELS,
  OPS,
  removeNode,
  STOP_LABELS,
  STOPS,
  ungroup,
  unitOf,
  updateNode,
  type BudgetNode,
  type CompareNode,
  type CondNode,
  type GroupNode,
  type Metric,
  type NodeErrors,
  type Span,
} from '../api/condition';

interface Ctx {
  root: GroupNode;
  onChange: (root: GroupNode) => void;
  errors: Record<string, NodeErrors>;
  full: boolean;
  idp: string;
  focus: (key: string) => void;
}

const NO_ERRORS: NodeErrors = { fields: {}, general: [] };

/**
 * Builds a rule's condition visually: a group (ALL or ANY) of rows, each
 * a comparison (metric, span, operator, value in the metric's unit) or a
 * budget check; a row can become a nested group (3 deep at most). The
 * API's problems are shown on the row and field they name.
 */
export function ConditionEditor({
  value,
  onChange,
  errors = {},
  unplaced = [],
  idPrefix = 'rc',
}: {
  value: GroupNode;
  onChange: (root: GroupNode) => void;
  /** By node key (see `placeConditionErrors`). */
  errors?: Record<string, NodeErrors>;
  /** Condition problems no row matches. */
  unplaced?: string[];
  idPrefix?: string;
}) {
  const terms = countTerms(value);
  // After adding a row, its first control gets the focus.
  const [focusKey, setFocusKey] = useState<string | null>(null);
  useEffect(() => {
    if (!focusKey) return;
    document.getElementById(`${idPrefix}-${focusKey}-first`)?.focus();
    setFocusKey(null);
  }, [focusKey, idPrefix]);
  const ctx: Ctx = { root: value, onChange, errors, full: terms >= MAX_TERMS, idp: idPrefix, focus: setFocusKey };
  return (
    <div className="cond-editor">
      <Group node={value} depth={1} number="" ctx={ctx} />
      <p className="hint" id={`${idPrefix}-count`}>
        {terms} of {MAX_TERMS} conditions; groups nest {MAX_DEPTH} deep at most.
      </p>
      <FieldErrors id={`${idPrefix}-unplaced`} messages={unplaced} />
    </div>
  );
}

function childNumber(parent: string, i: number): string {
  return parent ? `${parent}.${i + 1}` : String(i + 1);
}

function Group({ node, depth, number, ctx, only = false }: { node: GroupNode; depth: number; number: string; ctx: Ctx; only?: boolean }) {
  const id = `${ctx.idp}-${node.key}`;
  const errs = ctx.errors[node.key] ?? NO_ERRORS;
  const nested = depth > 1;
  const name = nested ? `group ${number}` : 'the condition';
  const set = (f: (g: GroupNode) => GroupNode) =>
    ctx.onChange(updateNode(ctx.root, node.key, (n) => (n.kind === 'group' ? f(n) : n)));
  const add = (child: CondNode) => {
    set((g) => ({ ...g, children: [...g.children, child] }));
    ctx.focus(child.key);
  };
  return (
    <fieldset
      className={nested ? 'cond-group cond-nested' : 'cond-group'}
      aria-describedby={errs.general.length ? `${id}-errors` : undefined}
    >
      <legend>{nested ? `Group ${number}` : 'Condition'}</legend>
      <div className="field inline">
        <label htmlFor={`${id}-first`}>{nested ? 'Match' : 'Fire when'}</label>
        <select id={`${id}-first`} value={node.mode} onChange={(e) => set((g) => ({ ...g, mode: e.target.value as 'all' | 'any' }))}>
          <option value="all">ALL of these hold (and)</option>
          <option value="any">ANY of these holds (or)</option>
        </select>
      </div>
      <FieldErrors id={`${id}-errors`} messages={errs.general} />
      <ol className="cond-list">
        {node.children.map((c, i) => (
          <li key={c.key}>
            {c.kind === 'group' ? (
              <Group node={c} depth={depth + 1} number={childNumber(number, i)} ctx={ctx} only={!nested && node.children.length === 1} />
            ) : (
              <Row node={c} depth={depth} number={childNumber(number, i)} ctx={ctx} only={!nested && node.children.length === 1} />
            )}
          </li>
        ))}
      </ol>
      <div className="actions">
        <button type="button" className="btn" disabled={ctx.full} onClick={() => add(newComparison())}>
          Add comparison{' '}<span className="visually-hidden">to {name}</span>
        </button>
        <button type="button" className="btn" disabled={ctx.full} onClick={() => add(newBudget())}>
          Add budget check{' '}<span className="visually-hidden">to {name}</span>
        </button>
        {depth < MAX_DEPTH ? (
          <button type="button" className="btn" disabled={ctx.full} onClick={() => add(newGroup('any', [newComparison()]))}>
            Add group{' '}<span className="visually-hidden">to {name}</span>
          </button>
        ) : null}
        {nested ? (
          <>
            <button type="button" className="btn" onClick={() => ctx.onChange(ungroup(ctx.root, node.key))}>
              Ungroup{' '}<span className="visually-hidden">{name}</span>
            </button>
            <button type="button" className="btn" disabled={only} onClick={() => ctx.onChange(removeNode(ctx.root, node.key))}>
              Remove{' '}<span className="visually-hidden">{name}</span>
            </button>
          </>
        ) : null}
      </div>
    </fieldset>
  );
}

function Row({
  node,
  depth,
  number,
  ctx,
  only,
}: {
  node: CompareNode | BudgetNode;
  depth: number;
  number: string;
  ctx: Ctx;
  only: boolean;
}) {
  const id = `${ctx.idp}-${node.key}`;
  const errs = ctx.errors[node.key] ?? NO_ERRORS;
  const name = `condition ${number}`;
  const toGroup = () => ctx.onChange(updateNode(ctx.root, node.key, (n) => newGroup('any', [n])));
  return (
    <fieldset className="cond-row" aria-describedby={errs.general.length ? `${id}-errors` : undefined}>
      <legend>Condition {number}</legend>
      {node.kind === 'compare' ? <CompareFields node={node} id={id} errs={errs} ctx={ctx} /> : <BudgetFields node={node} id={id} errs={errs} ctx={ctx} />}
      <div className="row-actions">
        {depth < MAX_DEPTH ? (
          <button type="button" className="btn btn-small" onClick={toGroup}>
            Make group{' '}<span className="visually-hidden">of {name}</span>
          </button>
        ) : null}
        <button
          type="button"
          className="btn btn-small"
          disabled={only}
          onClick={() => ctx.onChange(removeNode(ctx.root, node.key))}
        >
          Remove{' '}<span className="visually-hidden">{name}</span>
        </button>
      </div>
      <FieldErrors id={`${id}-errors`} messages={errs.general} />
    </fieldset>
  );
}

/** Props of a control with the API's problems for `field`. */
function invalid(id: string, errs: NodeErrors, field: string, extra?: string) {
  const has = (errs.fields[field]?.length ?? 0) > 0;
  const described = [extra, has ? `${id}-${field}-errors` : undefined].filter(Boolean).join(' ');
  return {
    'aria-invalid': has ? true : undefined,
    'aria-describedby': described || undefined,
  } as const;
}

function CompareFields({ node, id, errs, ctx }: { node: CompareNode; id: string; errs: NodeErrors; ctx: Ctx }) {
  const set = (patch: Partial<CompareNode>) =>
    ctx.onChange(updateNode(ctx.root, node.key, (n) => (n.kind === 'compare' ? { ...n, ...patch } : n)));
  const setMetric = (metric: Metric) =>
    set({ metric, span: !allowsRecent(metric) && node.span === 'recent' ? 'today' : node.span });
  return (
    <div className="cond-fields">
      <div className="field">
        <label htmlFor={`${id}-first`}>Metric</label>
        <select id={`${id}-first`} value={node.metric} onChange={(e) => setMetric(e.target.value as Metric)} {...invalid(id, errs, 'metric')}>
          {METRICS.map((m) => (
            <option key={m} value={m}>
              {METRIC_LABELS[m]}
            </option>
          ))}
        </select>
        <FieldErrors id={`${id}-metric-errors`} messages={errs.fields.metric} />
      </div>
      <div className="field">
        <label htmlFor={`${id}-over`}>Over</label>
        <select id={`${id}-over`} value={node.span} onChange={(e) => set({ span: e.target.value as Span })} {...invalid(id, errs, 'over')}>
          <option value="today">today (campaign's time zone)</option>
          <option value="lifetime">lifetime</option>
          {allowsRecent(node.metric) ? <option value="recent">the last … minutes</option> : null}
        </select>
        <FieldErrors id={`${id}-over-errors`} messages={errs.fields.over} />
      </div>
      {node.span === 'recent' ? (
        <div className="field narrow">
          <label htmlFor={`${id}-minutes`}>Minutes (1–{MAX_RECENT_MINUTES})</label>
          <input
            id={`${id}-minutes`}
            type="number"
            min={1}
            max={MAX_RECENT_MINUTES}
            step={1}
            value={node.minutes}
            onChange={(e) => set({ minutes: e.target.value })}
            {...invalid(id, errs, 'over')}
          />
        </div>
      ) : null}
      <div className="field">
        <label htmlFor={`${id}-op`}>Operator</label>
        <select id={`${id}-op`} value={node.op} onChange={(e) => set({ op: e.target.value as CompareNode['op'] })} {...invalid(id, errs, 'op')}>
          {OPS.map((o) => (
            <option key={o} value={o}>
              {OP_LABELS[o]}
            </option>
          ))}
        </select>
        <FieldErrors id={`${id}-op-errors`} messages={errs.fields.op} />
      </div>
      <div className="field">
        <label htmlFor={`${id}-value`}>Value</label>
        <div className="with-unit">
          <input
            id={`${id}-value`}
            inputMode="decimal"
            value={node.value}
            onChange={(e) => set({ value: e.target.value })}
            {...invalid(id, errs, 'value', `${id}-unit`)}
          />
          <span className="unit" id={`${id}-unit`}>
            {unitOf(node.metric)}
            {isCount(node.metric) ? ', whole number' : ''}
          </span>
        </div>
        <FieldErrors id={`${id}-value-errors`} messages={errs.fields.value} />
      </div>
    </div>
  );
}

function BudgetFields({ node, id, errs, ctx }: { node: BudgetNode; id: string; errs: NodeErrors; ctx: Ctx }) {
  return (
    <div className="cond-fields">
      <div className="field">
        <label htmlFor={`${id}-first`}>Budget exhausted</label>
        <select
          id={`${id}-first`}
          value={node.stop}
          onChange={(e) =>
            ctx.onChange(updateNode(ctx.root, node.key, (n) => (n.kind === 'budget' ? { ...n, stop: e.target.value as BudgetNode['stop'] } : n)))
          }
          {...invalid(id, errs, 'budget_exhausted')}
        >
          {STOPS.map((s) => (
            <option key={s} value={s}>
              {STOP_LABELS[s]}
            </option>
          ))}
        </select>
        <FieldErrors id={`${id}-budget_exhausted-errors`} messages={errs.fields.budget_exhausted} />
      </div>
    </div>
  );
}
