// A line chart over time (uPlot). Imported only by pages with charts, so
// uPlot stays out of the initial bundle.
import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface ChartSeries {
  label: string;
  values: (number | null)[];
  color: string;
}

export function TimeChart({
  title,
  times,
  series,
  height = 260,
}: {
  title: string;
  /** Seconds since the epoch. */
  times: number[];
  series: ChartSeries[];
  height?: number;
}) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const shape = series.map((s) => s.label).join('|');

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const opts: uPlot.Options = {
      width: Math.max(300, el.clientWidth || 600),
      height,
      series: [{}, ...series.map((s) => ({ label: s.label, stroke: s.color, width: 2 }))],
      axes: [{}, { size: 60 }],
      legend: { live: true },
    };
    const u = new uPlot(opts, [times, ...series.map((s) => s.values)] as uPlot.AlignedData, el);
    plot.current = u;
    const ro =
      typeof ResizeObserver === 'function'
        ? new ResizeObserver(() => u.setSize({ width: Math.max(300, el.clientWidth), height }))
        : null;
    ro?.observe(el);
    return () => {
      ro?.disconnect();
      u.destroy();
      plot.current = null;
    };
    // Rebuilt only when the series change; data goes through setData.
  }, [shape, height]);

  useEffect(() => {
    plot.current?.setData([times, ...series.map((s) => s.values)] as uPlot.AlignedData);
  }, [times, series]);

  return (
    <figure className="chart">
      <figcaption className="visually-hidden">{title}</figcaption>
      <div ref={box} role="img" aria-label={title} />
    </figure>
  );
}
