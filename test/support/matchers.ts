import 'aws-sdk-client-mock-jest';
import { messageViolations } from './notification-schema';

// Every SNS message a test publishes through the recording stubs must be one a subscriber can rely on.
afterEach(() => {
  const violations = messageViolations.splice(0);
  if (violations.length > 0) throw new Error(`published messages broke the notification contract:\n${violations.join('\n')}`);
});
