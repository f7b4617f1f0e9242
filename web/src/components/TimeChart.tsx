/**
 * A small uPlot time-series chart for Solid: x = epoch seconds, one line per series. Resizes with its container and
 * updates in place when the data changes. Canvas charts are not readable by screen readers: callers give a caption
 * and show the latest values as text next to it.
 */
import { createEffect, onCleanup, onMount } from "solid-js";
import uPlot from "uplot";
import uplotCssUrl from "uplot/dist/uPlot.min.css?url";
import monitorCssUrl from "./monitor.css?url";

/**
 * Add a same-origin stylesheet once. The app's CSP (style-src 'self') blocks <style> elements, so CSS is linked, not
 * injected: `?url` gives the file's URL in development and its hashed asset in the build.
 */
export function useStylesheet(href: string): void {
  if (typeof document === "undefined" || document.querySelector(`link[data-mb-css="${href}"]`)) return;
  const link = document.createElement("link");
  link.rel = "stylesheet";
  link.href = href;
  link.dataset.mbCss = href;
  document.head.append(link);
}

useStylesheet(uplotCssUrl);
useStylesheet(monitorCssUrl);

export interface ChartSeries {
  label: string;
  color: string;
  values: number[];
  /** Dashed line (secondary series). */
  dash?: boolean;
}

export function TimeChart(props: { title: string; t: number[]; series: ChartSeries[]; height?: number; testid?: string; yLabel?: string }) {
  let box!: HTMLDivElement;
  let plot: uPlot | null = null;
  let shape = "";

  const data = (): uPlot.AlignedData => [props.t, ...props.series.map((s) => s.values)];

  function build() {
    plot?.destroy();
    const width = Math.max(280, box.clientWidth);
    plot = new uPlot(
      {
        width,
        height: props.height ?? 220,
        legend: { show: true, live: false },
        cursor: { drag: { x: false, y: false } },
        scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(1, Math.ceil(max * 1.15))] } },
        axes: [
          { stroke: "#56656b", grid: { stroke: "#e6ebe9" } },
          { stroke: "#56656b", grid: { stroke: "#e6ebe9" }, label: props.yLabel, size: 48 },
        ],
        series: [
          {},
          ...props.series.map((s) => ({
            label: s.label,
            stroke: s.color,
            width: 2,
            dash: s.dash ? [6, 4] : undefined,
            points: { show: false },
          })),
        ],
      },
      data(),
      box,
    );
    shape = props.series.map((s) => s.label).join("|");
  }

  onMount(() => {
    build();
    const ro = new ResizeObserver(() => {
      if (plot && Math.abs(plot.width - box.clientWidth) > 4) plot.setSize({ width: Math.max(280, box.clientWidth), height: props.height ?? 220 });
    });
    ro.observe(box);
    onCleanup(() => {
      ro.disconnect();
      plot?.destroy();
      plot = null;
    });
  });

  createEffect(() => {
    const d = data();
    if (!plot) return;
    if (props.series.map((s) => s.label).join("|") !== shape) build();
    else plot.setData(d);
  });

  return (
    <figure class="chart" data-testid={props.testid}>
      <figcaption>{props.title}</figcaption>
      <div ref={box} class="chart-canvas" role="img" aria-label={`${props.title} chart`} />
    </figure>
  );
}
