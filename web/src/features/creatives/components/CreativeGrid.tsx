import { useEffect, useLayoutEffect, useRef, useState } from 'react';
import { useVirtualizer } from '@tanstack/react-virtual';
import type { Asset } from '../../../api/types';
import { columnsFor, GAP, ROW_HEIGHT } from '../api/layout';
import { Thumb } from './Thumb';

/**
 * Creatives in rows of as many tiles as fit; only the rows in view (and a
 * few around them) are in the DOM. Nearing the end asks for the next page.
 */
export function CreativeGrid({
  items,
  total,
  hasNextPage,
  isFetchingNextPage,
  fetchNextPage,
  onOpen,
}: {
  items: Asset[];
  total: number;
  hasNextPage: boolean;
  isFetchingNextPage: boolean;
  fetchNextPage: () => void;
  onOpen: (a: Asset) => void;
}) {
  const scrollRef = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(800);

  useLayoutEffect(() => {
    const el = scrollRef.current;
    if (!el) return;
    const measure = () => setWidth(el.clientWidth || 800);
    measure();
    if (typeof ResizeObserver !== 'function') return;
    const ro = new ResizeObserver(measure);
    ro.observe(el);
    return () => ro.disconnect();
  }, []);

  const cols = columnsFor(width);
  const rowCount = Math.ceil(items.length / cols);
  const virtualizer = useVirtualizer({
    count: rowCount + (hasNextPage ? 1 : 0),
    getScrollElement: () => scrollRef.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 2,
    initialRect: { width: 800, height: 600 },
  });
  const rows = virtualizer.getVirtualItems();
  const lastIndex = rows.length ? rows[rows.length - 1]!.index : -1;

  useEffect(() => {
    if (hasNextPage && !isFetchingNextPage && lastIndex >= rowCount - 2) fetchNextPage();
  }, [hasNextPage, isFetchingNextPage, lastIndex, rowCount, fetchNextPage]);

  return (
    <div ref={scrollRef} className="grid-scroll" tabIndex={0} aria-label={`Creatives, ${total} in all`} role="region">
      <div role="list" style={{ height: virtualizer.getTotalSize(), position: 'relative', paddingTop: GAP / 2 }}>
        {rows.map((row) => {
          if (row.index >= rowCount) {
            return (
              <div key="loader" className="grid-row" style={{ transform: `translateY(${row.start}px)` }} role="status">
                Loading more…
              </div>
            );
          }
          const start = row.index * cols;
          return (
            <div
              key={row.key}
              className="grid-row"
              style={{ transform: `translateY(${row.start}px)`, height: ROW_HEIGHT }}
            >
              {items.slice(start, start + cols).map((a, i) => (
                <div role="listitem" key={a.id} aria-setsize={total} aria-posinset={start + i + 1}>
                  <button type="button" className="tile" onClick={() => onOpen(a)} data-testid="creative-tile">
                    <Thumb asset={a} />
                    <span className="tile-name" title={a.filename}>
                      {a.filename}
                    </span>
                    <span className="hint">
                      {a.width}×{a.height}
                    </span>
                  </button>
                </div>
              ))}
            </div>
          );
        })}
      </div>
    </div>
  );
}
