namespace GpuDaemon.Nvidia.Cuda;

/// <summary>
/// The kernel the validator runs on every GPU: <c>c[i] = a[i] + b[i]</c> on 32-bit unsigned integers for
/// <c>i &lt; n</c>, as PTX the driver compiles for whatever GPU it finds. It declares the oldest ISA and target it
/// needs, so every GPU a current driver supports runs it: PTX ISA 6.0 (CUDA 10.0 drivers and newer) for
/// <c>sm_50</c>, i.e. Maxwell, Pascal, Volta and everything since. Every instruction in it dates from PTX 2.x.
/// </summary>
internal static class VectorAddKernel
{
    public const string EntryName = "vector_add_u32";

    /// <summary>Threads per block the launch uses.</summary>
    public const int BlockSize = 256;

    public const string Ptx = """
        .version 6.0
        .target sm_50
        .address_size 64

        .visible .entry vector_add_u32(
            .param .u64 a,
            .param .u64 b,
            .param .u64 c,
            .param .u32 n)
        {
            .reg .pred %p<2>;
            .reg .b32 %r<8>;
            .reg .b64 %rd<11>;

            ld.param.u64 %rd1, [a];
            ld.param.u64 %rd2, [b];
            ld.param.u64 %rd3, [c];
            ld.param.u32 %r2, [n];
            mov.u32 %r3, %ctaid.x;
            mov.u32 %r4, %ntid.x;
            mov.u32 %r5, %tid.x;
            mad.lo.s32 %r1, %r3, %r4, %r5;
            setp.ge.u32 %p1, %r1, %r2;
            @%p1 bra DONE;
            cvta.to.global.u64 %rd4, %rd1;
            cvta.to.global.u64 %rd5, %rd2;
            cvta.to.global.u64 %rd6, %rd3;
            mul.wide.u32 %rd7, %r1, 4;
            add.s64 %rd8, %rd4, %rd7;
            add.s64 %rd9, %rd5, %rd7;
            add.s64 %rd10, %rd6, %rd7;
            ld.global.u32 %r6, [%rd8];
            ld.global.u32 %r7, [%rd9];
            add.s32 %r6, %r6, %r7;
            st.global.u32 [%rd10], %r6;
        DONE:
            ret;
        }
        """;
}
