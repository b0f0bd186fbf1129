// Loading what a page shows: useResource(path) runs the request, keeps the
// answer and its error, and reloads on demand.
import { useCallback, useEffect, useState } from 'preact/hooks';
import { get } from './api.js';

export function useResource(path) {
  const [state, setState] = useState({ data: null, error: null, loading: true });
  const load = useCallback(async () => {
    if (!path) return;
    setState((s) => ({ ...s, loading: true }));
    try {
      const data = await get(path);
      setState({ data, error: null, loading: false });
    } catch (error) {
      setState((s) => ({ data: s.data, error, loading: false }));
    }
  }, [path]);
  useEffect(() => {
    load();
  }, [load]);
  return { ...state, reload: load, setData: (update) => setState((s) => ({ ...s, data: typeof update === 'function' ? update(s.data) : update })) };
}
