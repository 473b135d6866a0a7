/*
 * shuffles.h - index lists for __builtin_shufflevector on a pair of vectors of 16, 8 or 4 lanes,
 * shared by the kernels written with vector types (shallow.c, batched.c).
 */
#ifndef NNK_SHUFFLES_H
#define NNK_SHUFFLES_H

/* The even and the odd elements of the pair. */
#define NNKI_EVEN_16 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30
#define NNKI_ODD_16 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31
#define NNKI_EVEN_8 0, 2, 4, 6, 8, 10, 12, 14
#define NNKI_ODD_8 1, 3, 5, 7, 9, 11, 13, 15
#define NNKI_EVEN_4 0, 2, 4, 6
#define NNKI_ODD_4 1, 3, 5, 7
/* The first halves of the two vectors' elements taken in turn, and the second halves. */
#define NNKI_LOW_16 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23
#define NNKI_HIGH_16 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31
#define NNKI_LOW_8 0, 8, 1, 9, 2, 10, 3, 11
#define NNKI_HIGH_8 4, 12, 5, 13, 6, 14, 7, 15
#define NNKI_LOW_4 0, 4, 1, 5
#define NNKI_HIGH_4 2, 6, 3, 7
/* NNKI_LOW's list one element on: from the second vector's first element to the first vector's
 * element half-way along. */
#define NNKI_LOW_NEXT_16 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23, 8
#define NNKI_LOW_NEXT_8 8, 1, 9, 2, 10, 3, 11, 4
#define NNKI_LOW_NEXT_4 4, 1, 5, 2

#endif /* NNK_SHUFFLES_H */
