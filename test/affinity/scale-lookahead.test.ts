import { describe, expect, it } from 'vitest';
import { scaleLookahead } from '../../src/affinity/lookahead.js';

const ids = ['a', 'b', 'c', 'd'];

describe('scaleLookahead', () => {
  it("'self' divides each column by that task's own gain and clips to [-1, 1]", () => {
    const mean = [
      [0.2, 0.05, -0.1, 0.0],
      [0.1, 0.1, 0.0, 0.3],
      [0.0, -0.02, 0.05, 0.01],
      [0.04, 0.0, 0.01, 0.2],
    ];
    const { matrix, notes } = scaleLookahead(mean, 'self', ids);
    expect(matrix[0]).toEqual([1, 0.5, -1, 0]);
    expect(matrix[1]![0]).toBeCloseTo(0.5, 10);
    expect(matrix[1]![3]).toBeCloseTo(1, 10); // 0.3 / 0.2 clipped
    expect(matrix[2]![1]).toBeCloseTo(-0.2, 10);
    expect(notes).toHaveLength(1);
  });

  it("'self' gives a task whose own step raised its loss the median own gain as its unit, and leaves the other columns alone (an outlier does not flatten them)", () => {
    const mean = [
      [0.2, 0.05, -56.8, 0.1],
      [0.1, 0.1, 0.02, 0.05],
      [0.0, -0.02, -0.16, 0.01],
      [0.04, 0.0, 0.03, 0.4],
    ];
    const { matrix, notes } = scaleLookahead(mean, 'self', ids);
    // Columns a, b, d: their own gains 0.2, 0.1, 0.4, as without the bad task.
    expect(matrix[1]![0]).toBeCloseTo(0.5, 10);
    expect(matrix[0]![1]).toBeCloseTo(0.5, 10);
    expect(matrix[1]![3]).toBeCloseTo(0.125, 10);
    // Column c (own gain -0.16): the median of 0.1, 0.2, 0.4 = 0.2 is its unit.
    expect(matrix[1]![2]).toBeCloseTo(0.1, 10);
    expect(matrix[3]![2]).toBeCloseTo(0.15, 10);
    expect(matrix[0]![2]).toBe(-1);
    expect(matrix[2]![2]).toBe(1);
    expect(notes.join(' ')).toMatch(
      /did not lower the loss of c on average; their weights use the median own gain of the other tasks \(0\.200\)/,
    );
  });

  it("'self' with no positive own gain at all falls back to 'max'", () => {
    const mean = [
      [-0.1, 0.2],
      [0.4, -0.3],
    ];
    const { matrix, notes } = scaleLookahead(mean, 'self', ['a', 'b']);
    [
      [-0.25, 0.5],
      [1, -0.75],
    ].forEach((row, i) => row.forEach((v, j) => expect(matrix[i]![j]).toBeCloseTo(v, 10)));
    expect(notes[0]).toMatch(/no task's own step lowered its loss/);
  });
});
