import cliProgress from 'cli-progress';
import type { EpochLogs } from '../train/index.js';
import { fmt, terminalSafe, type Output } from './io.js';

/** Per-task losses as "task loss" pairs, cut to `width` characters ("... n more"). */
export function taskLosses(taskLoss: Record<string, number>, width: number): string {
  const entries = Object.entries(taskLoss);
  let text = '';
  for (let i = 0; i < entries.length; i++) {
    const [task, loss] = entries[i]!;
    const part = `${text ? ' ' : ''}${terminalSafe(task)} ${fmt(loss)}`;
    const rest = entries.length - i - 1;
    const tail = rest > 0 ? ` ... ${rest} more` : '';
    if (text.length + part.length + (rest > 0 ? tail.length : 0) > width && text)
      return `${text} ... ${entries.length - i} more`;
    text += part;
  }
  return text;
}

function seconds(s: number): string {
  if (!Number.isFinite(s)) return '?';
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)} s`;
  return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}

/** What `fit`'s onEpochEnd reports: a cli-progress bar on a terminal, one plain line per epoch otherwise. */
export interface Progress {
  onEpochEnd(epoch: number, logs: EpochLogs): void;
  stop(): void;
}

/** Progress of `epochs` epochs on stderr: a bar on a TTY, plain lines elsewhere, nothing with --quiet / --json. */
export function trainingProgress(out: Output, epochs: number): Progress {
  const stderr = out.io.stderr;
  if (out.flags.quiet || out.flags.json) return { onEpochEnd() {}, stop() {} };
  const columns = stderr.columns ?? 100;
  if (stderr.isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        stream: stderr as NodeJS.WritableStream,
        format: 'epoch {value}/{total} [{bar}] loss {loss}{val} | {tasks} | {eta_formatted} left',
        barsize: 20,
        hideCursor: true,
        clearOnComplete: false,
        etaBuffer: 5,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(epochs, 0, { loss: '-', val: '', tasks: '' });
    return {
      onEpochEnd(epoch, logs) {
        bar.update(epoch + 1, {
          loss: fmt(logs.loss),
          val: logs.valLoss !== undefined ? ` (valid ${fmt(logs.valLoss)})` : '',
          tasks: taskLosses(logs.taskLoss, Math.max(20, columns - 75)),
        });
      },
      stop() {
        bar.stop();
      },
    };
  }
  let elapsed = 0;
  const width = String(epochs).length;
  return {
    onEpochEnd(epoch, logs) {
      elapsed += logs.timeMs / 1000;
      const left = (elapsed / (epoch + 1)) * (epochs - epoch - 1);
      const val = logs.valLoss !== undefined ? `  valid ${fmt(logs.valLoss)}` : '';
      stderr.write(
        `epoch ${String(epoch + 1).padStart(width)}/${epochs}  loss ${fmt(logs.loss)}${val}  ${taskLosses(logs.taskLoss, 90)}  (${seconds(logs.timeMs / 1000)}, ~${seconds(left)} left)\n`,
      );
    },
    stop() {},
  };
}
