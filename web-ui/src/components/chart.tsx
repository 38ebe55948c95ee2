/** A tiny SVG line plot for live throughput: a few series, no axes library. */
export interface Series {
  label: string;
  points: number[];
  className: string;
}

export function LineChart({ title, series, format, max = 60, note }: { title: string; series: Series[]; format: (v: number) => string; max?: number; note?: string | undefined }) {
  const W = 300;
  const H = 90;
  const top = Math.max(1, ...series.flatMap((s) => s.points.filter(Number.isFinite)));
  const x = (i: number, n: number) => W - (n - 1 - i) * (W / (max - 1));
  const y = (v: number) => H - 4 - (Math.max(0, v) / top) * (H - 12);
  const last = (s: Series) => s.points[s.points.length - 1];
  const summary = series.map((s) => `${s.label} ${last(s) === undefined ? 'no data' : format(last(s)!)}`).join(', ');
  return (
    <figure class="chart">
      <figcaption>
        <span class="chart-title">{title}</span>
        <span class="legend">
          {series.map((s) => (
            <span class={`key ${s.className}`} key={s.label}>
              {s.label} <strong>{last(s) === undefined ? '—' : format(last(s)!)}</strong>
            </span>
          ))}
        </span>
      </figcaption>
      <svg viewBox={`0 0 ${W} ${H}`} preserveAspectRatio="none" role="img" aria-label={`${title}: ${summary}`}>
        <line x1="0" x2={W} y1={H - 4} y2={H - 4} class="axis" />
        <text x="2" y="10" class="scale">
          {format(top)}
        </text>
        {note && (
          <text x={W / 2} y={H / 2} text-anchor="middle" class="scale">
            {note}
          </text>
        )}
        {series.map((s) =>
          s.points.length > 1 ? (
            <polyline
              key={s.label}
              class={`line ${s.className}`}
              fill="none"
              points={s.points.map((v, i) => `${x(i, s.points.length).toFixed(1)},${y(Number.isFinite(v) ? v : 0).toFixed(1)}`).join(' ')}
            />
          ) : null,
        )}
      </svg>
    </figure>
  );
}

export function CapacityBar({ used, total, label }: { used: number; total: number; label: string }) {
  const pct = total > 0 ? Math.min(100, (used / total) * 100) : 0;
  return (
    <div class={`capacity${pct > 90 ? ' high' : pct > 75 ? ' mid' : ''}`} role="meter" aria-label={label} aria-valuemin={0} aria-valuemax={100} aria-valuenow={Math.round(pct)}>
      <div style={{ width: `${pct}%` }} />
    </div>
  );
}
