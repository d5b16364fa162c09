package io.kvasir.engine.model;

/**
 * What {@link PagedAttention}'s block loop works in, for up to a tile's rows: per-block scores,
 * prepared queries, widened F16 keys and values, and the sorting of a tile's rows into those that
 * go four at a time through {@link AttentionTileKernels} and those that go alone. One per task.
 */
final class AttentionScratch {
    /** Scores, then weights, of row k's head h for one block: {@code scores[k * heads + h]}. */
    final float[][] scores;
    /** Queries as {@link KvStore#prepareQuery} writes them, row after row, head after head. */
    final float[] queries;
    /** What {@code prepareQuery} answered for each of them. */
    final boolean[] ready;
    /** One KV head of a block's keys, and of its values, widened from F16. */
    final float[] keys;

    final float[] values;
    /** Per row of the tile: the first position it sees, and its positions in the chunk. */
    final int[] from;

    final int[] lo;
    final int[] hi;
    /** The current block's rows, as {@link #classify} sorts them, and how many of each. */
    final int[] keyTile;

    final int[] keyOne;
    final int[] valueTile;
    final int[] valueOne;
    int keyTiles;
    int keyOnes;
    int valueTiles;
    int valueOnes;
    /** The four-row exponential's sums and lane scratch. */
    final float[] sums = new float[AttentionTileKernels.ROWS];

    final float[] lanes = new float[AttentionTileKernels.ROWS * AttentionKernels.L];

    /** Slots per KV block. */
    private final int blockSize;

    /**
     * For up to {@code rows} rows of a model with {@code heads} query heads of {@code headDim}
     * ({@code qDim} in all), over blocks of {@code blockSize} slots; {@code widens}: the store
     * keeps F16, widened a block at a time.
     */
    AttentionScratch(int rows, int heads, int qDim, int headDim, int blockSize, boolean widens) {
        this.blockSize = blockSize;
        scores = new float[rows * heads][blockSize];
        queries = new float[rows * qDim];
        ready = new boolean[rows * heads];
        keys = widens ? new float[blockSize * headDim] : null;
        values = widens ? new float[blockSize * headDim] : null;
        from = new int[rows];
        lo = new int[rows];
        hi = new int[rows];
        keyTile = new int[rows];
        keyOne = new int[rows];
        valueTile = new int[rows];
        valueOne = new int[rows];
    }

    /**
     * Sorts the rows that see the block at {@code start}: those whose keys are scored four at a
     * time (all that see the block from its first slot, when {@code tiled}: the kernels score
     * whole vectors of slots, and a row that sees fewer slots reads fewer of the same scores),
     * those whose values are summed four at a time (those that see all of it), and the rest,
     * one at a time (a tile's leftover rows too).
     */
    void classify(int rows, int start, boolean tiled) {
        int bs = blockSize;
        keyTiles = 0;
        keyOnes = 0;
        valueTiles = 0;
        valueOnes = 0;
        for (int k = 0; k < rows; k++) {
            if (lo[k] >= hi[k] || start >= hi[k] || start + bs <= lo[k]) {
                continue;
            }
            boolean fromStart = tiled && from[k] <= start;
            if (fromStart) {
                keyTile[keyTiles++] = k;
            } else {
                keyOne[keyOnes++] = k;
            }
            if (fromStart && start + bs <= hi[k]) {
                valueTile[valueTiles++] = k;
            } else {
                valueOne[valueOnes++] = k;
            }
        }
        for (int j = keyTiles - keyTiles % AttentionTileKernels.ROWS; j < keyTiles; j++) {
            keyOne[keyOnes++] = keyTile[j];
        }
        keyTiles -= keyTiles % AttentionTileKernels.ROWS;
        for (int j = valueTiles - valueTiles % AttentionTileKernels.ROWS; j < valueTiles; j++) {
            valueOne[valueOnes++] = valueTile[j];
        }
        valueTiles -= valueTiles % AttentionTileKernels.ROWS;
    }
}
