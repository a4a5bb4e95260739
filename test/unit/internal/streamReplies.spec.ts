import {
  compareIds,
  parseAutoClaim,
  parseGroups,
  parsePendingRows,
  parsePendingSummary,
  parseRead,
  parseReadOne,
  UnexpectedReply,
} from '../../../src/internal/streamReplies';

describe('stream reply parsers', () => {
  const entries = [
    ['1-0', ['data', '{"n":1}', 'kind', 'x']],
    ['2-0', null],
  ];

  it('reads XREAD/XREADGROUP in the RESP2 shape, the flat RESP3 shape and as a Map', () => {
    const expected = [
      {
        key: 's',
        entries: [
          { id: '1-0', fields: { data: '{"n":1}', kind: 'x' } },
          { id: '2-0', fields: null },
        ],
      },
    ];
    expect(parseRead([['s', entries]])).toEqual(expected);
    expect(parseRead(['s', entries])).toEqual(expected);
    expect(parseRead(new Map([['s', entries]]))).toEqual(expected);
    expect(parseRead(null)).toEqual([]);
    expect(parseReadOne([['other', entries]], 's')).toEqual([]);
  });

  it('reads XAUTOCLAIM with and without the deleted-ids part (Redis 7 / 6.2)', () => {
    expect(parseAutoClaim(['0-0', entries, ['3-0']])).toEqual({
      next: '0-0',
      entries: [
        { id: '1-0', fields: { data: '{"n":1}', kind: 'x' } },
        { id: '2-0', fields: null },
      ],
      deleted: ['3-0'],
    });
    expect(parseAutoClaim(['5-0', []]).deleted).toEqual([]);
    expect(() => parseAutoClaim('nope')).toThrow(UnexpectedReply);
  });

  it('reads XPENDING in both forms and XINFO GROUPS', () => {
    expect(parsePendingRows([['1-0', 'c', 12, 3]])).toEqual([
      { id: '1-0', consumer: 'c', idleMs: 12, deliveries: 3 },
    ]);
    expect(
      parsePendingSummary([
        2,
        '1-0',
        '2-0',
        [
          ['c1', '1'],
          ['c2', '1'],
        ],
      ]),
    ).toEqual({
      count: 2,
      smallestId: '1-0',
      greatestId: '2-0',
      consumers: { c1: 1, c2: 1 },
    });
    expect(parsePendingSummary([0, null, null, null]).consumers).toEqual({});
    expect(
      parseGroups([
        [
          'name',
          'g',
          'consumers',
          2,
          'pending',
          1,
          'last-delivered-id',
          '2-0',
          'entries-read',
          2,
          'lag',
          null,
        ],
      ]),
    ).toEqual([
      { name: 'g', consumers: 2, pending: 1, lastDeliveredId: '2-0', entriesRead: 2, lag: null },
    ]);
  });

  it('compares ids numerically, not as text', () => {
    expect(compareIds('10-0', '9-0')).toBe(1);
    expect(compareIds('1-10', '1-9')).toBe(1);
    expect(compareIds('1-1', '1-1')).toBe(0);
    expect(compareIds('1-1', '2-0')).toBe(-1);
  });
});
