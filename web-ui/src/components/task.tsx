/** Follows one long-running task (heal, brick replace, pool creation) until it ends. */
import { useEffect, useState } from 'preact/hooks';
import { get, paths } from '../api.js';
import { describe } from '../lib/errors.js';
import { taskFailed, taskFinished, type Task } from '../types.js';
import { Alert, Progress } from './ui.js';

export function TaskProgress({ id, title, onDone }: { id: string; title: string; onDone?: (t: Task) => void }) {
  const [task, setTask] = useState<Task | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    let stop = false;
    let timer: ReturnType<typeof setTimeout>;
    const poll = async () => {
      try {
        const t = await get<Task>(paths.task(id));
        if (stop) return;
        setTask(t);
        setError(null);
        if (taskFinished(t)) {
          onDone?.(t);
          return;
        }
      } catch (e) {
        if (stop) return;
        setError(e);
      }
      timer = setTimeout(poll, 1000);
    };
    void poll();
    return () => {
      stop = true;
      clearTimeout(timer);
    };
  }, [id]);
  const msg = task?.message ?? task?.description ?? '';
  const failed = task && taskFailed(task);
  const err = task?.error ? (typeof task.error === 'string' ? task.error : task.error.message) : null;
  return (
    <section class="task" aria-live="polite" aria-label={title}>
      <div class="task-head">
        <strong>{task?.title ?? title}</strong> <span class="muted">{task?.state ?? task?.status ?? 'starting'}</span>
      </div>
      {!failed && <Progress value={task && taskFinished(task) ? 1 : (task?.progress ?? null)} label={title} />}
      {msg && <p class="hint">{msg}</p>}
      {failed && <Alert>{err ?? 'The task failed.'}</Alert>}
      {error ? <Alert kind="warn">Progress unavailable: {describe(error)}</Alert> : null}
    </section>
  );
}

/** Where an API answered with a task (202 + {task} or {taskId} or a Task), its id. */
export function taskIdOf(v: unknown): string | undefined {
  if (!v || typeof v !== 'object') return undefined;
  const o = v as Record<string, unknown>;
  if (typeof o.taskId === 'string') return o.taskId;
  if (o.task && typeof o.task === 'object' && typeof (o.task as Task).id === 'string') return (o.task as Task).id;
  if (typeof o.id === 'string' && ('progress' in o || 'state' in o)) return o.id;
  return undefined;
}
