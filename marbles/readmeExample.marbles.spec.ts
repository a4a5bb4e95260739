// The README's "Testing your flows" example, verbatim but for the import paths
// (test/unit/testing/readmeExample.spec.ts checks that the two stay the same).
// README:start
import { of, type Observable, type OperatorFunction } from 'rxjs';
import { ackAfter, ConnectionError, retryWithBackoff, type StreamMessage } from '../src';
import { createTestScheduler, recordingStream, scriptedGroup } from '../src/testing';

interface Order {
  readonly id: string;
  readonly total: number;
}
interface Receipt {
  readonly orderId: string;
  readonly amount: number;
}

// The flow under test takes its Redis-facing ends as parameters: in production
// `fromStreamGroup(client, { stream: 'orders', group: 'billing', consumer })` and
// `toStream(client, 'receipts')`; in the test, a scripted group and a recording stream.
const billing = (
  orders$: Observable<StreamMessage<Order>>,
  bill: (order: Order) => Observable<Receipt>,
  receipts: OperatorFunction<Receipt, string>,
): Observable<string> =>
  orders$.pipe(
    ackAfter((m) => bill(m.value)), // ack only once billed; a failure leaves it pending
    retryWithBackoff({ initialDelayMs: 10, jitter: 'none' }), // reconnect after a lost connection
    receipts,
  );

describe('billing flow', () => {
  it('bills every order once, retries after a lost connection, and acks after billing', () => {
    const testScheduler = createTestScheduler((actual, expected) =>
      expect(actual).toEqual(expected),
    );
    const failOnce = new Set(['o2']); // the payment gateway times out once for order o2
    const bill = (o: Order): Observable<Receipt> => {
      if (failOnce.delete(o.id)) throw new Error('payment gateway timed out');
      return of({ orderId: o.id, amount: o.total });
    };
    const out = recordingStream<Receipt>('receipts');

    testScheduler.run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const orders = {
        a: { id: 'o1', total: 10 },
        b: { id: 'o2', total: 25 },
        c: { id: 'o3', total: 5 },
      };
      const lost = new ConnectionError('closed', 'Redis connection is closed');
      // a, b and c are appended to the stream at 1, 3 and 10 ms; the connection drops at 5 ms
      const entries = cold('                           -a-b------c|', orders);
      const failures = hot('                           -----x', { x: lost });
      const group = scriptedGroup({ entries, failures, claimIdleMs: 100 });
      const flow$ = billing(group.messages$, bill, out.write());

      // a is billed at once; b fails and stays pending; 10 ms after the drop the consumer is
      // back, re-reads its pending b, then gets c that was appended meanwhile
      const receiptIds = { x: '1-0', y: '2-0', z: '3-0' };
      const orderIds = { a: '1-0', b: '2-0', c: '3-0' };
      expectObservable(flow$).toBe('                   -x 13ms (yz|)', receiptIds);
      expectObservable(group.acks$).toBe('             -a 13ms (bc|)', orderIds);
      expectSubscriptions(entries.subscriptions).toBe('^----------!');
    });

    expect(out.entries.map((e) => [e.time, e.value.orderId])).toEqual([
      [1, 'o1'],
      [15, 'o2'],
      [15, 'o3'],
    ]);
  });
});
// README:end
