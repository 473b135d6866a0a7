namespace Nnk.Interop;

internal static unsafe partial class NnkNative
{
    /// <summary>
    /// Validates the geometry and returns the output size:
    /// <c>Height = 1 + (h + 2*pad_h - pool_h) / stride_h</c> (floored), likewise for the width.
    /// </summary>
    /// <param name="desc">Input (n, c, h, w), window, strides and padding.</param>
    /// <returns>The output height and width, in elements.</returns>
    /// <exception cref="ArgumentException">A size, stride or pad is out of range; the message names it.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A size product does not fit.</exception>
    public static (long Height, long Width) Pool2dOutputSize(in nnk_pool2d_desc desc)
    {
        long height, width;
        fixed (nnk_pool2d_desc* d = &desc)
        {
            NnkErrors.ThrowIfFailed(NativeMethods.nnk_pool2d_output_size(d, &height, &width), nameof(desc));
        }
        return (height, width);
    }

    /// <summary>
    /// Max pooling: <paramref name="y"/> (n, c, out_h, out_w) is the maximum of each window and
    /// <paramref name="argmax"/> (same length) the index ih*w + iw of the first maximum within its
    /// input plane; NaN counts as the largest value.
    /// </summary>
    /// <typeparam name="T"><see cref="float"/> or <see cref="double"/>.</typeparam>
    /// <param name="desc">The pooling geometry.</param>
    /// <param name="x">Input, n*c*h*w elements.</param>
    /// <param name="y">Output, n*c*out_h*out_w elements; overwritten.</param>
    /// <param name="argmax">Where each maximum came from, n*c*out_h*out_w elements; overwritten.</param>
    /// <exception cref="ArgumentException">A length does not match the descriptor, or the descriptor is invalid.</exception>
    /// <exception cref="NotSupportedException"><typeparamref name="T"/> is neither float nor double.</exception>
    public static void MaxPool2dForward<T>(in nnk_pool2d_desc desc, ReadOnlySpan<T> x, Span<T> y, Span<int> argmax)
        where T : unmanaged
    {
        ThrowIfUnsupported<T>();
        var geometry = new Pool2dGeometry(desc);
        geometry.CheckInput(x.Length, nameof(x));
        geometry.CheckOutput(y.Length, nameof(y));
        geometry.CheckOutput(argmax.Length, nameof(argmax));
        nnk_status status;
        fixed (nnk_pool2d_desc* d = &desc)
        fixed (T* px = x)
        fixed (T* py = y)
        fixed (int* pa = argmax)
        {
            status = typeof(T) == typeof(float)
                ? NativeMethods.nnk_maxpool2d_forward_f32(d, (float*)px, x.Length, (float*)py, y.Length, pa, argmax.Length)
                : NativeMethods.nnk_maxpool2d_forward_f64(d, (double*)px, x.Length, (double*)py, y.Length, pa, argmax.Length);
        }
        NnkErrors.ThrowIfFailed(status);
    }

    /// <summary>
    /// Max-pool gradient: <paramref name="dx"/> (n, c, h, w) receives each element of
    /// <paramref name="dy"/> at the position <paramref name="argmax"/> recorded; overlaps accumulate.
    /// </summary>
    /// <typeparam name="T"><see cref="float"/> or <see cref="double"/>.</typeparam>
    /// <param name="desc">The pooling geometry.</param>
    /// <param name="dy">Upstream gradient, n*c*out_h*out_w elements.</param>
    /// <param name="argmax">The indices <see cref="MaxPool2dForward{T}"/> wrote.</param>
    /// <param name="dx">Input gradient, n*c*h*w elements; overwritten.</param>
    /// <exception cref="ArgumentException">A length does not match, the descriptor is invalid, or an index lies outside its plane.</exception>
    /// <exception cref="NotSupportedException"><typeparamref name="T"/> is neither float nor double.</exception>
    public static void MaxPool2dBackward<T>(in nnk_pool2d_desc desc, ReadOnlySpan<T> dy, ReadOnlySpan<int> argmax, Span<T> dx)
        where T : unmanaged
    {
        ThrowIfUnsupported<T>();
        var geometry = new Pool2dGeometry(desc);
        geometry.CheckOutput(dy.Length, nameof(dy));
        geometry.CheckOutput(argmax.Length, nameof(argmax));
        geometry.CheckInput(dx.Length, nameof(dx));
        nnk_status status;
        fixed (nnk_pool2d_desc* d = &desc)
        fixed (T* pdy = dy)
        fixed (int* pa = argmax)
        fixed (T* pdx = dx)
        {
            status = typeof(T) == typeof(float)
                ? NativeMethods.nnk_maxpool2d_backward_f32(d, (float*)pdy, dy.Length, pa, argmax.Length, (float*)pdx, dx.Length)
                : NativeMethods.nnk_maxpool2d_backward_f64(d, (double*)pdy, dy.Length, pa, argmax.Length, (double*)pdx, dx.Length);
        }
        NnkErrors.ThrowIfFailed(status);
    }

    /// <summary>Average pooling: <paramref name="y"/> is the mean of each window, padding counted as zeros.</summary>
    /// <typeparam name="T"><see cref="float"/> or <see cref="double"/>.</typeparam>
    /// <param name="desc">The pooling geometry.</param>
    /// <param name="x">Input, n*c*h*w elements.</param>
    /// <param name="y">Output, n*c*out_h*out_w elements; overwritten.</param>
    /// <exception cref="ArgumentException">A length does not match the descriptor, or the descriptor is invalid.</exception>
    /// <exception cref="NotSupportedException"><typeparamref name="T"/> is neither float nor double.</exception>
    public static void AvgPool2dForward<T>(in nnk_pool2d_desc desc, ReadOnlySpan<T> x, Span<T> y)
        where T : unmanaged
    {
        ThrowIfUnsupported<T>();
        var geometry = new Pool2dGeometry(desc);
        geometry.CheckInput(x.Length, nameof(x));
        geometry.CheckOutput(y.Length, nameof(y));
        nnk_status status;
        fixed (nnk_pool2d_desc* d = &desc)
        fixed (T* px = x)
        fixed (T* py = y)
        {
            status = typeof(T) == typeof(float)
                ? NativeMethods.nnk_avgpool2d_forward_f32(d, (float*)px, x.Length, (float*)py, y.Length)
                : NativeMethods.nnk_avgpool2d_forward_f64(d, (double*)px, x.Length, (double*)py, y.Length);
        }
        NnkErrors.ThrowIfFailed(status);
    }

    /// <summary>Average-pool gradient: each dy spread evenly over its window; overlaps accumulate.</summary>
    /// <typeparam name="T"><see cref="float"/> or <see cref="double"/>.</typeparam>
    /// <param name="desc">The pooling geometry.</param>
    /// <param name="dy">Upstream gradient, n*c*out_h*out_w elements.</param>
    /// <param name="dx">Input gradient, n*c*h*w elements; overwritten.</param>
    /// <exception cref="ArgumentException">A length does not match the descriptor, or the descriptor is invalid.</exception>
    /// <exception cref="NotSupportedException"><typeparamref name="T"/> is neither float nor double.</exception>
    public static void AvgPool2dBackward<T>(in nnk_pool2d_desc desc, ReadOnlySpan<T> dy, Span<T> dx)
        where T : unmanaged
    {
        ThrowIfUnsupported<T>();
        var geometry = new Pool2dGeometry(desc);
        geometry.CheckOutput(dy.Length, nameof(dy));
        geometry.CheckInput(dx.Length, nameof(dx));
        nnk_status status;
        fixed (nnk_pool2d_desc* d = &desc)
        fixed (T* pdy = dy)
        fixed (T* pdx = dx)
        {
            status = typeof(T) == typeof(float)
                ? NativeMethods.nnk_avgpool2d_backward_f32(d, (float*)pdy, dy.Length, (float*)pdx, dx.Length)
                : NativeMethods.nnk_avgpool2d_backward_f64(d, (double*)pdy, dy.Length, (double*)pdx, dx.Length);
        }
        NnkErrors.ThrowIfFailed(status);
    }

    /// <summary>A descriptor the library has validated, with its output size, checking buffer lengths against it.</summary>
    private readonly struct Pool2dGeometry
    {
        private readonly nnk_pool2d_desc desc;
        private readonly long outHeight;
        private readonly long outWidth;

        public Pool2dGeometry(in nnk_pool2d_desc desc)
        {
            this.desc = desc;
            (outHeight, outWidth) = Pool2dOutputSize(desc);
        }

        public void CheckInput(int actual, string paramName) =>
            RequireLength(actual, paramName, [desc.n, desc.c, desc.h, desc.w], ["N", "C", "H", "W"]);

        public void CheckOutput(int actual, string paramName) =>
            RequireLength(actual, paramName, [desc.n, desc.c, outHeight, outWidth], ["N", "C", "OutH", "OutW"]);
    }
}
