import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { fireEvent, render, screen } from '@testing-library/react';
import type { Asset } from '../../../api/types';
import { columnsFor, fitBox } from '../api/layout';
import { CreativeGrid } from './CreativeGrid';

function asset(i: number): Asset {
  return {
    id: `a${i}`,
    campaign_id: 'c1',
    filename: `creative-${i}.png`,
    content_type: 'image/png',
    size_bytes: 1000,
    sha256: 'x',
    width: 600,
    height: 300,
    created_at: '2026-11-01T00:00:00Z',
    _links: { self: `/s/${i}`, original: `/o/${i}`, w150: `/t150/${i}`, w300: `/t300/${i}` },
  };
}

// jsdom has no layout: give elements an 800×600 box.
let restore: (() => void) | undefined;
beforeEach(() => {
  const w = Object.getOwnPropertyDescriptor(HTMLElement.prototype, 'clientWidth');
  const h = Object.getOwnPropertyDescriptor(HTMLElement.prototype, 'clientHeight');
  Object.defineProperty(HTMLElement.prototype, 'clientWidth', { configurable: true, get: () => 800 });
  Object.defineProperty(HTMLElement.prototype, 'clientHeight', { configurable: true, get: () => 600 });
  restore = () => {
    if (w) Object.defineProperty(HTMLElement.prototype, 'clientWidth', w);
    if (h) Object.defineProperty(HTMLElement.prototype, 'clientHeight', h);
  };
});
afterEach(() => restore?.());

const items = Array.from({ length: 10_000 }, (_, i) => asset(i));

describe('CreativeGrid', () => {
  it('renders only the rows in view for 10,000 creatives', () => {
    render(
      <CreativeGrid items={items} total={10_000} hasNextPage={false} isFetchingNextPage={false} fetchNextPage={() => {}} onOpen={() => {}} />,
    );
    const tiles = screen.getAllByTestId('creative-tile');
    const cols = columnsFor(800);
    expect(cols).toBe(4);
    // 600 px of 214 px rows is 3 rows, plus 2 overscan: at most 6 rows.
    expect(tiles.length).toBeGreaterThanOrEqual(cols);
    expect(tiles.length).toBeLessThanOrEqual(6 * cols);
    expect(screen.getByText('creative-0.png')).toBeInTheDocument();
    expect(screen.queryByText('creative-9999.png')).not.toBeInTheDocument();
    // the list still tells assistive tech where each item is
    expect(screen.getAllByRole('listitem')[0]).toHaveAttribute('aria-setsize', '10000');
  });

  it('sets lazy loading, srcset, sizes and dimensions on thumbnails', () => {
    render(
      <CreativeGrid items={items.slice(0, 1)} total={1} hasNextPage={false} isFetchingNextPage={false} fetchNextPage={() => {}} onOpen={() => {}} />,
    );
    const img = screen.getByRole('img', { name: 'creative-0.png' });
    expect(img).toHaveAttribute('src', '/t150/0');
    expect(img).toHaveAttribute('srcset', '/t150/0 150w, /t300/0 300w');
    expect(img).toHaveAttribute('sizes', '150px');
    expect(img).toHaveAttribute('loading', 'lazy');
    expect(img).toHaveAttribute('decoding', 'async');
    expect(img).toHaveAttribute('width', '150');
    expect(img).toHaveAttribute('height', '75');
  });

  it('shows a placeholder when a thumbnail fails to load', () => {
    render(
      <CreativeGrid items={items.slice(0, 2)} total={2} hasNextPage={false} isFetchingNextPage={false} fetchNextPage={() => {}} onOpen={() => {}} />,
    );
    fireEvent.error(screen.getByRole('img', { name: 'creative-1.png' }));
    expect(screen.getByRole('img', { name: 'No preview for creative-1.png' })).toHaveTextContent('No preview');
    expect(screen.getByRole('img', { name: 'creative-0.png' }).tagName).toBe('IMG');
  });

  it('asks for the next page when the end is in view, and opens a creative', () => {
    const next = vi.fn();
    const open = vi.fn();
    render(
      <CreativeGrid items={items.slice(0, 8)} total={500} hasNextPage isFetchingNextPage={false} fetchNextPage={next} onOpen={open} />,
    );
    expect(next).toHaveBeenCalled();
    fireEvent.click(screen.getByText('creative-3.png'));
    expect(open).toHaveBeenCalledWith(items[3]);
  });

  it('fits images into the box', () => {
    expect(fitBox(600, 300)).toEqual({ width: 150, height: 75 });
    expect(fitBox(100, 50)).toEqual({ width: 100, height: 50 });
    expect(fitBox(0, 0)).toEqual({ width: 150, height: 150 });
  });
});
