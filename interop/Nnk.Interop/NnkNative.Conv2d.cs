namespace Nnk.Interop;

internal static unsafe partial class NnkNative
{
    /// <summary>
    /// Validates the geometry and returns the output size:
    /// <c>Height = 1 + (h + 2*pad_h - kh) / stride_h</c> (floored), likewise for the width.
    /// </summary>
    /// <param name="desc">Input (n, c, h, w), weights (f, c, kh, kw), strides and padding.</param>
    /// <returns>The output height and width, in elements.</returns>
    /// <exception cref="ArgumentException">A size, stride or pad is out of range; the message names it.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A size product does not fit in 64 bits.</exception>
    public static (long Height, long Width) Conv2dOutputSize(in nnk_conv2d_desc desc)
    {
        long height, width;
        fixed (nnk_conv2d_desc* d = &desc)
        {
            NnkErrors.ThrowIfFailed(NativeMethods.nnk_conv2d_output_size(d, &height, &width), nameof(desc));
        }
        return (height, width);
    }

    /// <summary>
    /// Elements of the workspace one conv2d call of <paramref name="pass"/> needs at the current
    /// <see cref="NumThreads"/>, counted in the element type of the call (float or double).
    /// </summary>
    /// <param name="desc">The convolution geometry.</param>
    /// <param name="pass">Whether the workspace is for <see cref="Conv2dForward{T}"/> or <see cref="Conv2dBackward{T}"/>.</param>
    /// <returns>The workspace length in elements; a smaller one still works if it holds one thread's share.</returns>
    /// <exception cref="ArgumentException">The geometry or the pass is invalid.</exception>
    public static long Conv2dWorkspaceSize(in nnk_conv2d_desc desc, nnk_conv_pass pass)
    {
        long elements;
        fixed (nnk_conv2d_desc* d = &desc)
        {
            NnkErrors.ThrowIfFailed(NativeMethods.nnk_conv2d_workspace_size(d, pass, &elements), nameof(desc));
        }
        return elements;
    }

    /// <summary>
    /// Unfolds <paramref name="x"/> (n, c, h, w) into <paramref name="cols"/>
    /// (n, c*kh*kw, out_h*out_w); padding reads as zero.
    /// </summary>
    /// <typeparam name="T"><see cref="float"/> or <see cref="double"/>.</typeparam>
    /// <param name="desc">The convolution geometry (f is not used).</param>
    /// <param name="x">Input, n*c*h*w elements, row-major NCHW.</param>
    /// <param name="cols">Destination, n*c*kh*kw*out_h*out_w elements; overwritten.</param>
    /// <exception cref="ArgumentException">A length does not match the descriptor, or the descriptor is invalid.</exception>
    /// <exception cref="NotSupportedException"><typeparamref name="T"/> is neither float nor double.</exception>
    public static void Im2Col<T>(in nnk_conv2d_desc desc, ReadOnlySpan<T> x, Span<T> cols)
        where T : unmanaged
    {
        ThrowIfUnsupported<T>();
        var geometry = new Conv2dGeometry(desc);
        geometry.Check(x.Length, nameof(x), Conv2dTensor.Input);
        geometry.Check(cols.Length, nameof(cols), Conv2dTensor.Columns);
        nnk_status status;
        fixed (nnk_conv2d_desc* d = &desc)
        fixed (T* px = x)
        fixed (T* pcols = cols)
        {
            if (typeof(T) == typeof(float))
            {
                status = NativeMethods.nnk_im2col_f32(d, (float*)px, x.Length, (float*)pcols, cols.Length);
            }
            else
            {
                status = NativeMethods.nnk_im2col_f64(d, (double*)px, x.Length, (double*)pcols, cols.Length);
            }
        }
        NnkErrors.ThrowIfFailed(status);
    }

    /// <summary>
    /// Scatters <paramref name="cols"/> (n, c*kh*kw, out_h*out_w) back into <paramref name="x"/>
    /// (n, c, h, w), summing overlaps: the adjoint of <see cref="Im2Col{T}"/>.
    /// </summary>
    /// <typeparam name="T"><see cref="float"/> or <see cref="double"/>.</typeparam>
    /// <param name="desc">The convolution geometry (f is not used).</param>
    /// <param name="cols">Columns, n*c*kh*kw*out_h*out_w elements.</param>
    /// <param name="x">Destination, n*c*h*w elements; overwritten, not accumulated into.</param>
    /// <exception cref="ArgumentException">A length does not match the descriptor, or the descriptor is invalid.</exception>
    /// <exception cref="NotSupportedException"><typeparamref name="T"/> is neither float nor double.</exception>
    public static void Col2Im<T>(in nnk_conv2d_desc desc, ReadOnlySpan<T> cols, Span<T> x)
        where T : unmanaged
    {
        ThrowIfUnsupported<T>();
        var geometry = new Conv2dGeometry(desc);
        geometry.Check(cols.Length, nameof(cols), Conv2dTensor.Columns);
        geometry.Check(x.Length, nameof(x), Conv2dTensor.Input);
        nnk_status status;
        fixed (nnk_conv2d_desc* d = &desc)
        fixed (T* pcols = cols)
        fixed (T* px = x)
        {
            if (typeof(T) == typeof(float))
            {
                status = NativeMethods.nnk_col2im_f32(d, (float*)pcols, cols.Length, (float*)px, x.Length);
            }
            else
            {
                status = NativeMethods.nnk_col2im_f64(d, (double*)pcols, cols.Length, (double*)px, x.Length);
            }
        }
        NnkErrors.ThrowIfFailed(status);
    }

    /// <summary>
    /// <paramref name="y"/> (n, f, out_h, out_w) = cross-correlation of <paramref name="x"/>
    /// (n, c, h, w) with <paramref name="w"/> (f, c, kh, kw), plus <paramref name="b"/> (f).
    /// </summary>
    /// <typeparam name="T"><see cref="float"/> or <see cref="double"/>.</typeparam>
    /// <param name="desc">The convolution geometry.</param>
    /// <param name="x">Input, n*c*h*w elements.</param>
    /// <param name="w">Weights, f*c*kh*kw elements.</param>
    /// <param name="b">Bias, f elements, or empty for no bias.</param>
    /// <param name="y">Output, n*f*out_h*out_w elements; overwritten.</param>
    /// <param name="workspace">
    /// Scratch space, <see cref="Conv2dWorkspaceSize"/> elements for <see cref="nnk_conv_pass.NNK_CONV_FORWARD"/>
    /// (or at least one thread's share); its contents on return are unspecified.
    /// </param>
    /// <exception cref="ArgumentException">A length does not match the descriptor, the workspace is too small, or the descriptor is invalid.</exception>
    /// <exception cref="InvalidOperationException">No BLAS could be loaded; the message says what to install.</exception>
    /// <exception cref="NotSupportedException"><typeparamref name="T"/> is neither float nor double.</exception>
    public static void Conv2dForward<T>(in nnk_conv2d_desc desc, ReadOnlySpan<T> x, ReadOnlySpan<T> w,
        ReadOnlySpan<T> b, Span<T> y, Span<T> workspace)
        where T : unmanaged
    {
        ThrowIfUnsupported<T>();
        var geometry = new Conv2dGeometry(desc);
        geometry.Check(x.Length, nameof(x), Conv2dTensor.Input);
        geometry.Check(w.Length, nameof(w), Conv2dTensor.Weights);
        geometry.CheckOptional(b.Length, nameof(b), Conv2dTensor.Bias);
        geometry.Check(y.Length, nameof(y), Conv2dTensor.Output);
        nnk_status status;
        fixed (nnk_conv2d_desc* d = &desc)
        fixed (T* px = x)
        fixed (T* pw = w)
        fixed (T* pb = b)
        fixed (T* py = y)
        fixed (T* pworkspace = workspace)
        {
            if (typeof(T) == typeof(float))
            {
                status = NativeMethods.nnk_conv2d_forward_f32(d, (float*)px, x.Length, (float*)pw, w.Length,
                    (float*)pb, b.Length, (float*)py, y.Length, (float*)pworkspace, workspace.Length);
            }
            else
            {
                status = NativeMethods.nnk_conv2d_forward_f64(d, (double*)px, x.Length, (double*)pw, w.Length,
                    (double*)pb, b.Length, (double*)py, y.Length, (double*)pworkspace, workspace.Length);
            }
        }
        NnkErrors.ThrowIfFailed(status);
    }

    /// <summary>
    /// Gradients of <see cref="Conv2dForward{T}"/> given <paramref name="dy"/> (n, f, out_h, out_w).
    /// Each of <paramref name="dx"/>, <paramref name="dw"/> and <paramref name="db"/> is computed
    /// only when it is not empty, and is overwritten.
    /// </summary>
    /// <typeparam name="T"><see cref="float"/> or <see cref="double"/>.</typeparam>
    /// <param name="desc">The convolution geometry.</param>
    /// <param name="x">Forward input, n*c*h*w elements; needed when <paramref name="dw"/> is wanted, else may be empty.</param>
    /// <param name="w">Weights, f*c*kh*kw elements; needed when <paramref name="dx"/> is wanted, else may be empty.</param>
    /// <param name="dy">Upstream gradient, n*f*out_h*out_w elements.</param>
    /// <param name="dx">Input gradient, n*c*h*w elements, or empty to skip it.</param>
    /// <param name="dw">Weight gradient, f*c*kh*kw elements, or empty to skip it.</param>
    /// <param name="db">Bias gradient, f elements, or empty to skip it.</param>
    /// <param name="workspace">
    /// Scratch space, <see cref="Conv2dWorkspaceSize"/> elements for <see cref="nnk_conv_pass.NNK_CONV_BACKWARD"/>
    /// (or at least one thread's share); its contents on return are unspecified.
    /// </param>
    /// <exception cref="ArgumentException">A length does not match the descriptor, the workspace is too small, or the descriptor is invalid.</exception>
    /// <exception cref="InvalidOperationException">No BLAS could be loaded; the message says what to install.</exception>
    /// <exception cref="NotSupportedException"><typeparamref name="T"/> is neither float nor double.</exception>
    public static void Conv2dBackward<T>(in nnk_conv2d_desc desc, ReadOnlySpan<T> x, ReadOnlySpan<T> w,
        ReadOnlySpan<T> dy, Span<T> dx, Span<T> dw, Span<T> db, Span<T> workspace)
        where T : unmanaged
    {
        ThrowIfUnsupported<T>();
        var geometry = new Conv2dGeometry(desc);
        if (!dw.IsEmpty || !x.IsEmpty)
        {
            geometry.Check(x.Length, nameof(x), Conv2dTensor.Input);
        }
        if (!dx.IsEmpty || !w.IsEmpty)
        {
            geometry.Check(w.Length, nameof(w), Conv2dTensor.Weights);
        }
        geometry.Check(dy.Length, nameof(dy), Conv2dTensor.Output);
        geometry.CheckOptional(dx.Length, nameof(dx), Conv2dTensor.Input);
        geometry.CheckOptional(dw.Length, nameof(dw), Conv2dTensor.Weights);
        geometry.CheckOptional(db.Length, nameof(db), Conv2dTensor.Bias);
        nnk_status status;
        fixed (nnk_conv2d_desc* d = &desc)
        fixed (T* px = x)
        fixed (T* pw = w)
        fixed (T* pdy = dy)
        fixed (T* pdx = dx)
        fixed (T* pdw = dw)
        fixed (T* pdb = db)
        fixed (T* pworkspace = workspace)
        {
            if (typeof(T) == typeof(float))
            {
                status = NativeMethods.nnk_conv2d_backward_f32(d, (float*)px, x.Length, (float*)pw, w.Length,
                    (float*)pdy, dy.Length, (float*)pdx, dx.Length, (float*)pdw, dw.Length, (float*)pdb, db.Length,
                    (float*)pworkspace, workspace.Length);
            }
            else
            {
                status = NativeMethods.nnk_conv2d_backward_f64(d, (double*)px, x.Length, (double*)pw, w.Length,
                    (double*)pdy, dy.Length, (double*)pdx, dx.Length, (double*)pdw, dw.Length, (double*)pdb, db.Length,
                    (double*)pworkspace, workspace.Length);
            }
        }
        NnkErrors.ThrowIfFailed(status);
    }

    private enum Conv2dTensor
    {
        Input,
        Weights,
        Bias,
        Output,
        Columns,
    }

    /// <summary>
    /// A descriptor the library has validated, with its output size: knows how many elements
    /// each tensor of a conv2d call must have, and says so (with the shape) when one does not.
    /// </summary>
    private readonly struct Conv2dGeometry
    {
        private readonly nnk_conv2d_desc desc;
        private readonly long outHeight;
        private readonly long outWidth;

        public Conv2dGeometry(in nnk_conv2d_desc desc)
        {
            this.desc = desc;
            (outHeight, outWidth) = Conv2dOutputSize(desc);
        }

        public void Check(int actual, string paramName, Conv2dTensor tensor) => Require(actual, paramName, tensor, optional: false);

        /// <summary>Like <see cref="Check"/>, but an empty buffer (meaning "skip it") is accepted.</summary>
        public void CheckOptional(int actual, string paramName, Conv2dTensor tensor) => Require(actual, paramName, tensor, optional: true);

        private void Require(int actual, string paramName, Conv2dTensor tensor, bool optional)
        {
            switch (tensor)
            {
                case Conv2dTensor.Input:
                    RequireLength(actual, paramName, [desc.n, desc.c, desc.h, desc.w], ["N", "C", "H", "W"], optional);
                    break;
                case Conv2dTensor.Weights:
                    RequireLength(actual, paramName, [desc.f, desc.c, desc.kh, desc.kw], ["F", "C", "KH", "KW"], optional);
                    break;
                case Conv2dTensor.Bias:
                    RequireLength(actual, paramName, [desc.f], ["F"], optional);
                    break;
                case Conv2dTensor.Output:
                    RequireLength(actual, paramName, [desc.n, desc.f, outHeight, outWidth], ["N", "F", "OutH", "OutW"], optional);
                    break;
                default:
                    RequireLength(actual, paramName, [desc.n, desc.c, desc.kh, desc.kw, outHeight, outWidth],
                        ["N", "C", "KH", "KW", "OutH", "OutW"], optional);
                    break;
            }
        }
    }
}
