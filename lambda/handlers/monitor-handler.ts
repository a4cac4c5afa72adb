import type { Logger } from '@aws-lambda-powertools/logger';
import { MonitorRunError } from '../domain/errors';
import type { KeyMonitor, MonitorReport } from '../domain/monitor';

/**
 * The scheduled monitor: one run over every client. A run that could not check some client still checks the
 * others, then fails, so that the function's error alarm tells operators.
 */
export function createMonitorHandler(deps: { readonly monitor: KeyMonitor; readonly logger: Logger; readonly clock: () => number }) {
  return async (): Promise<MonitorReport> => {
    const report = await deps.monitor.run(deps.clock);
    deps.logger.info('monitor run done', { report });
    if (report.failures.length > 0) {
      throw new MonitorRunError(`${report.failures.length} of ${report.clients} clients could not be checked: ${report.failures.map((f) => `${f.secretArn} (${f.error})`).join('; ')}`);
    }
    return report;
  };
}
