import { useEffect, useRef } from 'react';
import { BarController, BarElement, CategoryScale, Chart, Legend, LinearScale, Tooltip, type ChartDataset } from 'chart.js';

// Only the parts the consoles draw (bar charts), so the bundle stays small.
Chart.register(BarController, BarElement, CategoryScale, LinearScale, Legend, Tooltip);

/** A palette that keeps 3:1 contrast against the white card and between neighbours. */
export const PALETTE = ['#1f5fae', '#c2410c', '#15803d', '#7e22ce', '#a16207', '#0f766e', '#be123c'];

/**
 * A bar chart on a canvas (chart.js). Charts are pictures of the figures in the table beside each
 * one, which holds the exact values; `label` describes the chart to screen readers.
 */
export function BarChart(props: {
  label: string;
  labels: string[];
  datasets: Array<{ label: string; data: number[] }>;
  stacked?: boolean;
  unit: string;
}) {
  const canvas = useRef<HTMLCanvasElement>(null);
  // Drawn again only when the figures change, not on every render of the page around it.
  const figures = JSON.stringify([props.labels, props.datasets, props.stacked, props.unit]);
  useEffect(() => {
    if (canvas.current === null) return;
    const datasets: ChartDataset<'bar'>[] = props.datasets.map((dataset, index) => ({
      ...dataset,
      backgroundColor: PALETTE[index % PALETTE.length],
    }));
    const chart = new Chart(canvas.current, {
      type: 'bar',
      data: { labels: props.labels, datasets },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        scales: {
          x: { stacked: props.stacked ?? false },
          y: { stacked: props.stacked ?? false, beginAtZero: true, title: { display: true, text: props.unit } },
        },
        plugins: { legend: { position: 'bottom' } },
      },
    });
    return () => chart.destroy();
  }, [figures]);
  return (
    <div className="chart">
      <canvas ref={canvas} role="img" aria-label={props.label} />
    </div>
  );
}
