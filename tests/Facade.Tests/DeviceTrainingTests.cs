using Hybrid;
using Hybrid.Nn;
using Hybrid.Optim;
using Xunit;

namespace Hybrid.Facade.Tests;

/// <summary>Training on an ILGPU device through the facade: "ilgpu-cpu" (ILGPU's CPU accelerator, the kernels a GPU
/// runs, emulated) must give the CPU's losses.</summary>
public class DeviceTrainingTests
{
    private static Module Mlp() => new Sequential(new Linear(6, 8, seed: 1), new ReLU(), new Linear(8, 3, seed: 2));

    private static double[] Train(string device, int steps)
    {
        var model = Mlp().To(device);
        var opt = new Adam(model.Parameters(), lr: 0.05);
        var r = new Random(7);
        var x = Tensor.FromArray(Enumerable.Range(0, 10 * 6).Select(_ => (float)(r.NextDouble() * 2 - 1)).ToArray(), 10, 6).To(device);
        var y = Tensor.FromArray(Enumerable.Range(0, 10).Select(i => (long)(i % 3)).ToArray(), 10).To(device);
        var losses = new double[steps];
        for (int s = 0; s < steps; s++)
        {
            opt.ZeroGrad();
            var loss = Losses.CrossEntropy(model.Forward(x), y);
            loss.Backward();
            opt.Step();
            losses[s] = loss.Item<float>();
        }
        Assert.All(model.Parameters(), p => Assert.Equal(Hybrid.Core.Devices.parse(device).ToString(), p.Device));
        return losses;
    }

    [Fact]
    public void An_mlp_trained_on_ilgpu_cpu_has_the_cpu_losses()
    {
        var cpu = Train("cpu", 6);
        var dev = Train("ilgpu-cpu", 6);
        Assert.True(cpu[^1] < cpu[0], "the loss decreases");
        for (int i = 0; i < cpu.Length; i++) Assert.Equal(cpu[i], dev[i], 1e-5);
    }

    [Fact]
    public void Tensor_To_moves_and_the_gradient_comes_back()
    {
        var x = Tensor.FromArray(new[] { 1.0, -2.0, 3.0 }, 3);
        x.RequiresGrad = true;
        var d = x.To("ilgpu-cpu");
        Assert.Equal("ilgpu-cpu:0", d.Device);
        Assert.Same(x, x.To("cpu"));
        (d * d).Sum().Backward();
        Assert.Equal("cpu", x.Grad!.Device);
        Assert.Equal(new[] { 2.0, -4.0, 6.0 }, x.Grad.ToArray<double>());
    }

    [Fact]
    public void Module_To_an_unknown_device_throws_before_moving_anything()
    {
        var model = Mlp();
        Assert.Throws<ArgumentException>(() => model.To("tpu"));
        Assert.All(model.Parameters(), p => Assert.Equal("cpu", p.Device));
    }

    [Fact]
    public void DisposeIsHarmlessTwiceAndOnTheCpu()
    {
        var cpu = Tensor.Ones(3);
        cpu.Dispose();
        cpu.Dispose();
        // disposed means disposed on every device: later use is refused, naming the shape (issue 18)
        Assert.Contains("[3]", Assert.Throws<ObjectDisposedException>(() => cpu.ToArray<float>()).Message);
        var onDevice = Tensor.Ones(3).To("ilgpu-cpu");
        Assert.Equal(new float[] { 1, 1, 1 }, onDevice.ToArray<float>());
        onDevice.Dispose();
        onDevice.Dispose();
        Assert.Throws<ObjectDisposedException>(() => onDevice.ToArray<float>());
        using var model = Mlp();
        model.To("ilgpu-cpu");
    }
}
