// A rule's condition: the JSON the API reads (`RuleBody.condition`, an
// untyped object in the OpenAPI document, so its shape is written out
// here from the API's docs), the editor's tree of rows, and the way
// between them, including where a 422's field path lands in the tree.

export const METRICS = [
  'spend',
  'budget_used_pct',
  'impressions',
  'clicks',
  'conversions',
  'ctr',
  'cpc',
  'cpm',
  'cpa',
  'roas',
] as const;
export type Metric = (typeof METRICS)[number];

export const OPS = ['>', '>=', '<', '<=', '==', '!='] as const;
export type Op = (typeof OPS)[number];

export const STOPS = ['either', 'total', 'daily'] as const;
export type Stop = (typeof STOPS)[number];

/** Groups nest at most this deep (the root group is depth 1). */
export const MAX_DEPTH = 3;
/** Comparisons and budget checks in one rule. */
export const MAX_TERMS = 20;
export const MAX_RECENT_MINUTES = 60;

export const METRIC_LABELS: Record<Metric, string> = {
  spend: 'Spend',
  budget_used_pct: 'Budget used',
  impressions: 'Impressions',
  clicks: 'Clicks',
  conversions: 'Conversions',
  ctr: 'CTR',
  cpc: 'CPC',
  cpm: 'CPM',
  cpa: 'CPA',
  roas: 'ROAS',
};

export const OP_LABELS: Record<Op, string> = {
  '>': '> (more than)',
  '>=': '≥ (at least)',
  '<': '< (less than)',
  '<=': '≤ (at most)',
  '==': '= (equal to)',
  '!=': '≠ (not equal to)',
};

export const STOP_LABELS: Record<Stop, string> = {
  either: 'total budget or daily cap',
  total: 'total budget',
  daily: 'daily cap',
};

/** Money metrics: typed in currency units, sent in micros. */
const MONEY: ReadonlySet<Metric> = new Set(['spend', 'cpc', 'cpm', 'cpa']);
const COUNTS: ReadonlySet<Metric> = new Set(['impressions', 'clicks', 'conversions']);

/** The unit a row's value is typed in. */
export function unitOf(m: Metric): string {
  if (MONEY.has(m)) return "in the campaign's currency";
  if (m === 'ctr' || m === 'budget_used_pct') return '%';
  if (m === 'roas') return '× (revenue ÷ spend)';
  return 'count';
}

/** Whether a metric can be measured over a trailing span (not the budget share). */
export function allowsRecent(m: Metric): boolean {
  return m !== 'budget_used_pct';
}

// ---- The API's JSON ----

export interface ComparisonJson {
  metric: string;
  over: string;
  op: string;
  value: number | null;
}
export type ConditionJson =
  | { all: ConditionJson[] }
  | { any: ConditionJson[] }
  | { budget_exhausted: string }
  | ComparisonJson;

// ---- The editor's tree ----

export type Span = 'today' | 'lifetime' | 'recent';

export interface CompareNode {
  key: string;
  kind: 'compare';
  metric: Metric;
  span: Span;
  /** Minutes of a trailing span, as typed. */
  minutes: string;
  op: Op;
  /** As typed, in the unit of `unitOf(metric)`. */
  value: string;
}
export interface BudgetNode {
  key: string;
  kind: 'budget';
  stop: Stop;
}
export interface GroupNode {
  key: string;
  kind: 'group';
  mode: 'all' | 'any';
  children: CondNode[];
}
export type CondNode = CompareNode | BudgetNode | GroupNode;

let nextKey = 0;
/** A key for a new node (React keys and error targets; never sent). */
export function newKey(): string {
  nextKey += 1;
  return `n${nextKey}`;
}

export function newComparison(over: Partial<CompareNode> = {}): CompareNode {
  return { key: newKey(), kind: 'compare', metric: 'spend', span: 'today', minutes: '15', op: '>', value: '', ...over };
}
export function newBudget(stop: Stop = 'either'): BudgetNode {
  return { key: newKey(), kind: 'budget', stop };
}
export function newGroup(mode: 'all' | 'any', children: CondNode[]): GroupNode {
  return { key: newKey(), kind: 'group', mode, children };
}
/** What a new rule starts with: ALL of one empty comparison. */
export function emptyCondition(): GroupNode {
  return newGroup('all', [newComparison()]);
}

/** Comparisons and budget checks under `n`. */
export function countTerms(n: CondNode): number {
  return n.kind === 'group' ? n.children.reduce((s, c) => s + countTerms(c), 0) : 1;
}

// ---- Tree edits (pure; the editor keeps the root in state) ----

/** `root` with the node `key` replaced by what `f` gives (null: removed). */
export function updateNode(root: GroupNode, key: string, f: (n: CondNode) => CondNode | null): GroupNode {
  const walk = (n: CondNode): CondNode | null => {
    if (n.key === key) return f(n);
    if (n.kind !== 'group') return n;
    const children = n.children.map(walk).filter((c): c is CondNode => c !== null);
    return children.length === n.children.length && children.every((c, i) => c === n.children[i]) ? n : { ...n, children };
  };
  const out = walk(root);
  return out && out.kind === 'group' ? out : root;
}

/** `root` without the node `key`; nested groups left empty go too. */
export function removeNode(root: GroupNode, key: string): GroupNode {
  const walk = (g: GroupNode): GroupNode => ({
    ...g,
    children: g.children
      .filter((c) => c.key !== key)
      .map((c) => (c.kind === 'group' ? walk(c) : c))
      .filter((c) => c.kind !== 'group' || c.children.length > 0),
  });
  return walk(root);
}

/** `root` with the nested group `key` replaced by its members. */
export function ungroup(root: GroupNode, key: string): GroupNode {
  const walk = (g: GroupNode): GroupNode => ({
    ...g,
    children: g.children.flatMap((c) => (c.kind !== 'group' ? [c] : c.key === key ? c.children : [walk(c)])),
  });
  return walk(root);
}

/** The depth of the group `key` (root = 1), or 0 when it is not a group of `root`. */
export function depthOf(root: GroupNode, key: string): number {
  const walk = (n: CondNode, d: number): number => {
    if (n.kind !== 'group') return 0;
    if (n.key === key) return d;
    for (const c of n.children) {
      const r = walk(c, d + 1);
      if (r) return r;
    }
    return 0;
  };
  return walk(root, 1);
}

// ---- Tree → JSON ----

/** Micros of money typed in units; other metrics as typed. */
function toWire(metric: Metric, v: number): number {
  return MONEY.has(metric) ? Math.round(v * 1_000_000) : v;
}
function fromWire(metric: Metric, v: number): number {
  return MONEY.has(metric) ? v / 1_000_000 : v;
}

/** A number as typed ('1,5' too), or NaN; null when empty. */
export function parseNumber(s: string): number | null {
  const t = s.trim().replace(',', '.');
  if (t === '') return null;
  return /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(t) ? Number(t) : Number.NaN;
}

export interface Built {
  condition: ConditionJson;
  /** The API path of every node as sent (`condition.any[1]`) → its key. */
  paths: Record<string, string>;
  /** Problems the browser already sees, by API path (`condition.all[0].value`). */
  errors: Record<string, string[]>;
}

/**
 * The JSON of the tree. A root group of a single comparison or budget
 * check is sent as that term alone (the API's simplest form). Values the
 * browser cannot read as numbers are reported under the path the API
 * would use, and left for it to refuse (sent as null).
 */
export function buildCondition(root: GroupNode): Built {
  const paths: Record<string, string> = {};
  const errors: Record<string, string[]> = {};
  const only = root.children.length === 1 && root.children[0]!.kind !== 'group' ? root.children[0]! : null;
  const walk = (n: CondNode, path: string): ConditionJson => {
    paths[path] = n.key;
    if (n.kind === 'group') {
      return n.mode === 'all'
        ? { all: n.children.map((c, i) => walk(c, `${path}.all[${i}]`)) }
        : { any: n.children.map((c, i) => walk(c, `${path}.any[${i}]`)) };
    }
    if (n.kind === 'budget') return { budget_exhausted: n.stop };
    let over: string = n.span;
    if (n.span === 'recent') {
      const m = parseNumber(n.minutes);
      over = `last_${m === null || Number.isNaN(m) ? n.minutes.trim() : m}m`;
    }
    const v = parseNumber(n.value);
    if (v === null || Number.isNaN(v)) (errors[`${path}.value`] ??= []).push('must be a number');
    return { metric: n.metric, over, op: n.op, value: v === null || Number.isNaN(v) ? null : toWire(n.metric, v) };
  };
  const condition = only ? walk(only, 'condition') : walk(root, 'condition');
  return { condition, paths, errors };
}

// ---- JSON → tree ----

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A number as it is typed back into the form (no float noise). */
function show(n: number): string {
  return String(Number(n.toPrecision(12)));
}

function readNode(v: unknown): CondNode {
  if (isObject(v)) {
    if (Array.isArray(v.all)) return newGroup('all', v.all.map(readNode));
    if (Array.isArray(v.any)) return newGroup('any', v.any.map(readNode));
    if (typeof v.budget_exhausted === 'string') {
      const s = (STOPS as readonly string[]).includes(v.budget_exhausted) ? (v.budget_exhausted as Stop) : 'either';
      return newBudget(s);
    }
    const metric = (METRICS as readonly string[]).includes(v.metric as string) ? (v.metric as Metric) : 'spend';
    const op = (OPS as readonly string[]).includes(v.op as string) ? (v.op as Op) : '>';
    const over = typeof v.over === 'string' ? v.over : 'today';
    const recent = /^last_(\d+)m$/.exec(over);
    const value = typeof v.value === 'number' ? show(fromWire(metric, v.value)) : '';
    return newComparison({
      metric,
      op,
      span: recent ? 'recent' : over === 'lifetime' ? 'lifetime' : 'today',
      minutes: recent ? recent[1]! : '15',
      value,
    });
  }
  return newComparison();
}

/** The editor's tree of a rule's condition (always a group at the root). */
export function readCondition(v: unknown): GroupNode {
  const n = readNode(v);
  return n.kind === 'group' ? n : newGroup('all', [n]);
}

// ---- 422 field paths → nodes ----

export interface NodeErrors {
  /** By the node's field: metric, over, op, value, budget_exhausted. */
  fields: Record<string, string[]>;
  /** About the node itself (a group's members, a field it must not have). */
  general: string[];
}

/**
 * The API's problems under `condition` placed on the nodes they name:
 * `condition.any[1].value` → the value field of the node sent at
 * `condition.any[1]`. `paths` is what `buildCondition` gave for the tree
 * as it was sent (so later edits do not move an error to another row).
 * Problems no node matches come back in `unplaced`.
 */
export function placeConditionErrors(
  errors: Record<string, string[]>,
  paths: Record<string, string>,
): { byNode: Record<string, NodeErrors>; unplaced: string[] } {
  const byNode: Record<string, NodeErrors> = {};
  const unplaced: string[] = [];
  const FIELDS = new Set(['metric', 'over', 'op', 'value', 'budget_exhausted']);
  for (const [path, msgs] of Object.entries(errors)) {
    if (path !== 'condition' && !path.startsWith('condition.') && !path.startsWith('condition[')) continue;
    // The longest prefix that is a node, then what is left of the path.
    let at = path;
    let rest = '';
    while (!(at in paths)) {
      const cut = Math.max(at.lastIndexOf('.'), at.lastIndexOf('['));
      if (cut <= 0) break;
      const seg = at.slice(cut).replace(/^\./, '');
      rest = seg + (!rest ? '' : rest.startsWith('[') ? rest : `.${rest}`);
      at = at.slice(0, cut);
    }
    const key = paths[at];
    if (!key) {
      unplaced.push(...msgs.map((m) => `${path}: ${m}`));
      continue;
    }
    const e = (byNode[key] ??= { fields: {}, general: [] });
    if (FIELDS.has(rest)) (e.fields[rest] ??= []).push(...msgs);
    else e.general.push(...msgs.map((m) => (rest ? `${rest}: ${m}` : m)));
  }
  return { byNode, unplaced };
}

// ---- One line for people ----

function formatValue(metric: Metric, value: number): string {
  const v = fromWire(metric, value);
  const n = new Intl.NumberFormat(
    undefined,
    MONEY.has(metric) ? { minimumFractionDigits: 2, maximumFractionDigits: 2 } : { maximumFractionDigits: 4 },
  ).format(v);
  if (metric === 'ctr' || metric === 'budget_used_pct') return `${n} %`;
  if (metric === 'roas') return `${n}×`;
  return n;
}

function formatOver(over: string): string {
  const m = /^last_(\d+)m$/.exec(over);
  return m ? `last ${m[1]} min` : over;
}

/** `CTR today < 0.5 % or (Spend last 15 min > 5.00 and budget exhausted (daily cap))`. */
export function summarize(v: unknown, nested = false): string {
  if (!isObject(v)) return '—';
  const group = Array.isArray(v.all) ? 'and' : Array.isArray(v.any) ? 'or' : null;
  if (group) {
    const members = (group === 'and' ? v.all : v.any) as unknown[];
    const text = members.map((m) => summarize(m, true)).join(` ${group} `);
    return nested && members.length > 1 ? `(${text})` : text;
  }
  if (typeof v.budget_exhausted === 'string') {
    const s = v.budget_exhausted as Stop;
    return `budget exhausted (${STOP_LABELS[s] ?? s})`;
  }
  const metric = v.metric as Metric;
  const label = METRIC_LABELS[metric] ?? String(v.metric);
  const value = typeof v.value === 'number' ? formatValue(metric, v.value) : String(v.value);
  return `${label} ${formatOver(String(v.over))} ${String(v.op)} ${value}`;
}

/** Whether the metric's value is a whole number (counts; money is rounded to micros). */
export function isCount(m: Metric): boolean {
  return COUNTS.has(m);
}
