import { describe, expect, it } from 'vitest';
import {
  buildCondition,
  countTerms,
  depthOf,
  newBudget,
  newComparison,
  newGroup,
  placeConditionErrors,
  readCondition,
  removeNode,
  summarize,
  ungroup,
  updateNode,
  type GroupNode,
} from './condition';
import { bodyFromForm, emptyRuleForm, formFromRule } from './form';

describe('condition JSON from the editor rows', () => {
  it('sends a single row as the comparison alone, money in micros', () => {
    const row = newComparison({ metric: 'spend', span: 'recent', minutes: '15', op: '>', value: '5,5' });
    const b = buildCondition(newGroup('all', [row]));
    expect(b.condition).toEqual({ metric: 'spend', over: 'last_15m', op: '>', value: 5_500_000 });
    expect(b.paths).toEqual({ condition: row.key });
    expect(b.errors).toEqual({});
  });

  it('sends percentages and ratios as typed, and groups with their paths', () => {
    const ctr = newComparison({ metric: 'ctr', span: 'today', op: '<', value: '0.5' });
    const roas = newComparison({ metric: 'roas', span: 'lifetime', op: '>=', value: '2' });
    const budget = newBudget('daily');
    const inner = newGroup('all', [roas, budget]);
    const root = newGroup('any', [ctr, inner]);
    const b = buildCondition(root);
    expect(b.condition).toEqual({
      any: [
        { metric: 'ctr', over: 'today', op: '<', value: 0.5 },
        { all: [{ metric: 'roas', over: 'lifetime', op: '>=', value: 2 }, { budget_exhausted: 'daily' }] },
      ],
    });
    expect(b.paths).toEqual({
      condition: root.key,
      'condition.any[0]': ctr.key,
      'condition.any[1]': inner.key,
      'condition.any[1].all[0]': roas.key,
      'condition.any[1].all[1]': budget.key,
    });
  });

  it('reports values that are not numbers under the path the API would use', () => {
    const a = newComparison({ value: '1' });
    const b = newComparison({ value: 'lots' });
    const built = buildCondition(newGroup('all', [a, b]));
    expect(built.errors).toEqual({ 'condition.all[1].value': ['must be a number'] });
    expect(built.condition).toMatchObject({ all: [{ value: 1_000_000 }, { value: null }] });
  });

  it('reads a stored condition back into rows (a bare comparison becomes ALL of one)', () => {
    const stored = {
      any: [
        { metric: 'cpc', over: 'last_5m', op: '>', value: 250_000 },
        { all: [{ metric: 'clicks', over: 'today', op: '==', value: 0 }, { budget_exhausted: 'total' }] },
      ],
    };
    const tree = readCondition(stored);
    expect(tree.mode).toBe('any');
    expect(tree.children[0]).toMatchObject({ kind: 'compare', metric: 'cpc', span: 'recent', minutes: '5', value: '0.25' });
    expect(buildCondition(tree).condition).toEqual(stored);

    const bare = readCondition({ metric: 'ctr', over: 'lifetime', op: '<', value: 1.2 });
    expect(bare.kind).toBe('group');
    expect(bare.children).toHaveLength(1);
    expect(buildCondition(bare).condition).toEqual({ metric: 'ctr', over: 'lifetime', op: '<', value: 1.2 });
  });
});

describe('editing the tree', () => {
  function sample(): { root: GroupNode; a: string; g: string; b: string; c: string } {
    const a = newComparison();
    const b = newComparison({ metric: 'clicks' });
    const c = newBudget();
    const g = newGroup('any', [b, c]);
    return { root: newGroup('all', [a, g]), a: a.key, g: g.key, b: b.key, c: c.key };
  }

  it('turns a row into a nested group, and knows the depth', () => {
    const { root, b, g } = sample();
    const deeper = updateNode(root, b, (n) => newGroup('all', [n]));
    const inner = (deeper.children[1] as GroupNode).children[0] as GroupNode;
    expect(inner.kind).toBe('group');
    expect(depthOf(deeper, root.key)).toBe(1);
    expect(depthOf(deeper, g)).toBe(2);
    expect(depthOf(deeper, inner.key)).toBe(3);
    expect(countTerms(deeper)).toBe(3);
    expect(buildCondition(deeper).condition).toMatchObject({ all: [{}, { any: [{ all: [{ metric: 'clicks' }] }, { budget_exhausted: 'either' }] }] });
  });

  it('ungroups and removes; a nested group left empty goes too', () => {
    const { root, g, b, c } = sample();
    expect(ungroup(root, g).children.map((n) => n.key)).toEqual([root.children[0]!.key, b, c]);
    const once = removeNode(root, b);
    expect((once.children[1] as GroupNode).children.map((n) => n.key)).toEqual([c]);
    expect(removeNode(once, c).children).toHaveLength(1);
  });
});

describe('server problems on the rows', () => {
  it('lands each path on the node sent there and its field', () => {
    const ctr = newComparison({ metric: 'ctr', value: '1' });
    const spend = newComparison({ value: '-5' });
    const inner = newGroup('all', [spend, newBudget()]);
    const root = newGroup('any', [ctr, inner]);
    const { paths } = buildCondition(root);
    const placed = placeConditionErrors(
      {
        name: ['must be 1 to 200 characters'],
        'condition.any[1].all[0].value': ['must not be negative'],
        'condition.any[0].op': ['must be one of >, >=, <, <=, ==, !='],
        'condition.any[1].all[0].extra': ['is not a field here'],
        condition: ['has 21 comparisons; at most 20'],
        'condition.all[7].value': ['must be a number'],
      },
      paths,
    );
    expect(placed.byNode[spend.key]).toEqual({ fields: { value: ['must not be negative'] }, general: ['extra: is not a field here'] });
    expect(placed.byNode[ctr.key]).toEqual({ fields: { op: ['must be one of >, >=, <, <=, ==, !='] }, general: [] });
    // a path no node was sent at: the nearest node above takes it, with the rest of the path
    expect(placed.byNode[root.key]!.general).toEqual(['has 21 comparisons; at most 20', 'all[7].value: must be a number']);
    expect(placed.unplaced).toEqual([]);
    expect(Object.keys(placed.byNode)).not.toContain(inner.key);
  });

  it('keeps an error on its row when rows before it are removed later', () => {
    const first = newComparison({ value: '1' });
    const second = newComparison({ value: '2.5', metric: 'clicks' });
    const root = newGroup('all', [first, second]);
    const { paths } = buildCondition(root);
    const edited = removeNode(root, first.key);
    const placed = placeConditionErrors({ 'condition.all[1].value': ['clicks is a whole number'] }, paths);
    expect(edited.children[0]!.key).toBe(second.key);
    expect(placed.byNode[second.key]!.fields.value).toEqual(['clicks is a whole number']);
  });
});

describe('the rule form', () => {
  it('converts minutes to seconds and leaves an empty template to the API', () => {
    const v = { ...emptyRuleForm(), name: 'Spend spike', for_value: '2', for_unit: 'minutes' as const };
    v.condition = newGroup('all', [newComparison({ value: '10' })]);
    const r = bodyFromForm(v);
    if ('errors' in r) throw new Error('unexpected errors');
    expect(r.body).toMatchObject({
      name: 'Spend spike',
      campaign_id: null,
      brand_id: null,
      for_secs: 120,
      cooldown_secs: 900,
      message_template: null,
      channel_ids: [],
      enabled: true,
    });
  });

  it('catches durations and a missing campaign in the browser', () => {
    const v = { ...emptyRuleForm(), scope: 'campaign' as const, for_value: '1.5', for_unit: 'seconds' as const };
    v.condition = newGroup('all', [newComparison({ value: '1' })]);
    const r = bodyFromForm(v);
    expect('errors' in r && r.errors).toEqual({
      for_secs: ['must be a whole number of seconds, 0 or more'],
      campaign_id: ['choose a campaign'],
    });
  });

  it('shows whole minutes as minutes when editing', () => {
    const f = formFromRule({
      id: 'r',
      name: 'x',
      condition: { budget_exhausted: 'either' } as never,
      for_secs: 90,
      cooldown_secs: 3600,
      brand_id: 'acme',
      version: 1,
      created_at: '',
      updated_at: '',
    });
    expect([f.for_value, f.for_unit, f.cooldown_value, f.cooldown_unit, f.scope]).toEqual(['90', 'seconds', '60', 'minutes', 'brand']);
  });
});

describe('one-line summaries', () => {
  it('reads like a sentence, nested groups in brackets', () => {
    expect(
      summarize({
        any: [
          { metric: 'ctr', over: 'today', op: '<', value: 0.5 },
          { all: [{ metric: 'spend', over: 'last_15m', op: '>', value: 5_000_000 }, { budget_exhausted: 'either' }] },
        ],
      }),
    ).toBe('CTR today < 0.5 % or (Spend last 15 min > 5.00 and budget exhausted (total budget or daily cap))');
  });
});
