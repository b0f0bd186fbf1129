// Servers kept current by live events: status changes and usage reports
// update the list a page shows, without a reload.
import { useEffect } from 'preact/hooks';
import { liveEvents } from './events.js';

export function useLiveServers(setServers) {
  useEffect(() => {
    const offStatus = liveEvents.on('server.status', ({ server }) =>
      setServers((list) => (list ? list.map((s) => (s.id === server.id ? { ...s, ...server } : s)) : list)));
    const offUsage = liveEvents.on('server.usage', ({ serverId, usage }) =>
      setServers((list) => (list ? list.map((s) => (s.id === serverId ? { ...s, usage } : s)) : list)));
    return () => {
      offStatus();
      offUsage();
    };
  }, []);
}
