import { useState } from 'react';
import { describe, expect, it } from 'vitest';
import { render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { buildCondition, emptyCondition, placeConditionErrors, type GroupNode } from '../api/condition';
import { ConditionEditor } from './ConditionEditor';

/** The editor with its state, the JSON it builds, and the API's problems placed as a submit would. */
function Harness({ problems = {} }: { problems?: Record<string, string[]> }) {
  const [root, setRoot] = useState<GroupNode>(emptyCondition);
  const [sent, setSent] = useState<Record<string, string> | null>(null);
  const built = buildCondition(root);
  const placed = sent ? placeConditionErrors(problems, sent) : { byNode: {}, unplaced: [] };
  return (
    <>
      <ConditionEditor value={root} onChange={setRoot} errors={placed.byNode} unplaced={placed.unplaced} />
      <button type="button" onClick={() => setSent(built.paths)}>
        Send
      </button>
      <output data-testid="json">{JSON.stringify(built.condition)}</output>
    </>
  );
}

const json = () => JSON.parse(screen.getByTestId('json').textContent ?? '') as unknown;
const row = (n: string) => screen.getByRole('group', { name: `Condition ${n}` });

describe('condition editor', () => {
  it('builds a comparison from a row, with the unit shown', async () => {
    render(<Harness />);
    const user = userEvent.setup();
    const r = row('1');
    await user.selectOptions(within(r).getByLabelText('Metric'), 'ctr');
    await user.selectOptions(within(r).getByLabelText('Operator'), '<');
    await user.type(within(r).getByLabelText('Value'), '0.5');
    expect(within(r).getByLabelText('Value')).toHaveAccessibleDescription('%');
    expect(json()).toEqual({ metric: 'ctr', over: 'today', op: '<', value: 0.5 });

    await user.selectOptions(within(r).getByLabelText('Metric'), 'spend');
    expect(within(r).getByLabelText('Value')).toHaveAccessibleDescription("in the campaign's currency");
    await user.selectOptions(within(r).getByLabelText('Over'), 'recent');
    await user.clear(within(r).getByLabelText('Minutes (1–60)'));
    await user.type(within(r).getByLabelText('Minutes (1–60)'), '30');
    expect(json()).toEqual({ metric: 'spend', over: 'last_30m', op: '<', value: 500_000 });

    // The budget share has no trailing span: choosing it moves the span back to today.
    await user.selectOptions(within(r).getByLabelText('Metric'), 'budget_used_pct');
    expect(within(r).getByLabelText('Over')).toHaveValue('today');
    expect(within(within(r).getByLabelText('Over')).queryByRole('option', { name: /last/ })).not.toBeInTheDocument();
  });

  it('builds nested groups, ANY of ALL, and budget checks', async () => {
    render(<Harness />);
    const user = userEvent.setup();
    await user.selectOptions(screen.getByLabelText('Fire when'), 'any');
    await user.type(within(row('1')).getByLabelText('Value'), '100');
    // A row turned into a group keeps the row inside it.
    await user.click(screen.getByRole('button', { name: 'Make group of condition 1' }));
    const g1 = screen.getByRole('group', { name: 'Group 1' });
    expect(within(g1).getByLabelText('Value')).toHaveValue('100');
    await user.selectOptions(within(g1).getByLabelText('Match'), 'all');
    await user.click(within(g1).getByRole('button', { name: 'Add budget check to group 1' }));
    // The new row has the focus.
    expect(within(row('1.2')).getByLabelText('Budget exhausted')).toHaveFocus();
    await user.selectOptions(within(row('1.2')).getByLabelText('Budget exhausted'), 'daily');
    await user.click(screen.getByRole('button', { name: 'Add comparison to the condition' }));
    await user.selectOptions(within(row('2')).getByLabelText('Metric'), 'roas');
    await user.selectOptions(within(row('2')).getByLabelText('Over'), 'lifetime');
    await user.type(within(row('2')).getByLabelText('Value'), '1.5');
    expect(json()).toEqual({
      any: [
        { all: [{ metric: 'spend', over: 'today', op: '>', value: 100_000_000 }, { budget_exhausted: 'daily' }] },
        { metric: 'roas', over: 'lifetime', op: '>', value: 1.5 },
      ],
    });

    // Ungroup puts the members back in place.
    await user.click(screen.getByRole('button', { name: 'Ungroup group 1' }));
    expect(json()).toEqual({
      any: [
        { metric: 'spend', over: 'today', op: '>', value: 100_000_000 },
        { budget_exhausted: 'daily' },
        { metric: 'roas', over: 'lifetime', op: '>', value: 1.5 },
      ],
    });
  });

  it('nests groups three deep at most', async () => {
    render(<Harness />);
    const user = userEvent.setup();
    await user.click(screen.getByRole('button', { name: 'Make group of condition 1' }));
    await user.click(screen.getByRole('button', { name: 'Make group of condition 1.1' }));
    const deepest = screen.getByRole('group', { name: 'Group 1.1' });
    expect(within(deepest).queryByRole('button', { name: /Add group/ })).not.toBeInTheDocument();
    expect(within(row('1.1.1')).queryByRole('button', { name: /Make group/ })).not.toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Add group to group 1' })).toBeInTheDocument();
    expect(json()).toEqual({ all: [{ any: [{ any: [{ metric: 'spend', over: 'today', op: '>', value: null }] }] }] });
  });

  it("shows a server problem on the row and field its path names", async () => {
    render(
      <Harness
        problems={{
          'condition.any[1].any[0].value': ['must not be negative'],
          'condition.any[0].op': ['must be one of >, >=, <, <=, ==, !='],
        }}
      />,
    );
    const user = userEvent.setup();
    await user.selectOptions(screen.getByLabelText('Fire when'), 'any');
    await user.click(screen.getByRole('button', { name: 'Add group to the condition' }));
    await user.click(screen.getByRole('button', { name: 'Send' }));

    const bad = within(row('2.1')).getByLabelText('Value');
    expect(bad).toHaveAttribute('aria-invalid', 'true');
    expect(bad).toHaveAccessibleDescription(/must not be negative/);
    expect(within(row('1')).getByLabelText('Value')).not.toHaveAttribute('aria-invalid');
    expect(within(row('1')).getByLabelText('Operator')).toHaveAccessibleDescription(/must be one of/);

    // Removing the row above does not move the error to another row.
    await user.click(screen.getByRole('button', { name: 'Remove condition 1' }));
    expect(within(row('1.1')).getByLabelText('Value')).toHaveAttribute('aria-invalid', 'true');
  });
});
