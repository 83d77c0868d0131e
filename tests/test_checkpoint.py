import dataclasses
import pickle

import pytest
import torch

from srcore.common.errors import UserError
from srcore.config.sampling import SamplingSpec
from srcore.config.schema import DiffusionConfig, ModelConfig, Params, weight_settings
from srcore.diffusion.loader import TrainedModel
from srcore.net.checkpoint import ModelFileError, load_model, save_checkpoint
from srcore.net.unet import DualDomainUNet


def test_round_trip_rebuilds_the_saved_network(tmp_path):
    cfg = ModelConfig(width=8, time_dim=16, dwt=False, scales=())
    m = DualDomainUNet(cfg)
    torch.nn.init.normal_(m.out.weight)
    save_checkpoint(tmp_path / "m.pt", m, DiffusionConfig(kappa=1.5), scale=4, step=7)
    m2, dcfg, ck = load_model(tmp_path / "m.pt")
    assert m2.cfg == cfg and dcfg.kappa == 1.5 and ck["step"] == 7 and ck["scale"] == 4
    assert all(torch.equal(a, b) for a, b in zip(m.state_dict().values(), m2.state_dict().values()))
    assert [p.name for p in tmp_path.iterdir()] == ["m.pt"]
    # sampling weights need no gradient (autocast would cache bf16 copies of those that do)
    assert not any(p.requires_grad for p in m2.parameters())


def test_other_configuration_lists_the_mismatches(tmp_path):
    save_checkpoint(
        tmp_path / "m.pt",
        DualDomainUNet(ModelConfig(width=8, time_dim=16, scales=())),
        DiffusionConfig(),
        4,
    )
    with pytest.raises(ModelFileError) as e:
        load_model(
            tmp_path / "m.pt",
            ModelConfig(width=16, time_dim=16, dct=False, scales=()),
            DiffusionConfig(kappa=1.0),
        )
    msg = str(e.value)
    assert (
        "model.width: file has 8, asked for 16" in msg
        and "model.dct" in msg
        and "diffusion.kappa" in msg
    )


class _Evil:
    def __reduce__(self):
        return (exec, ("import pathlib; pathlib.Path('PWNED').write_text('x')",))


def test_a_pickle_that_runs_code_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with open("evil.pt", "wb") as f:
        pickle.dump({"format": "srcore-model/1", "x": _Evil()}, f)
    with pytest.raises(ModelFileError, match="refused"):
        load_model("evil.pt")
    assert not (tmp_path / "PWNED").exists()
    (tmp_path / "junk.pt").write_bytes(b"\x00" * 10)
    with pytest.raises(ModelFileError, match="junk.pt"):
        load_model("junk.pt")


def test_a_model_file_from_before_the_written_out_haar_still_loads(tmp_path):
    m = DualDomainUNet(ModelConfig(width=8, time_dim=16, scales=()))
    save_checkpoint(tmp_path / "m.pt", m, DiffusionConfig(), 4)
    ck = torch.load(tmp_path / "m.pt", weights_only=True)
    ck["model"]["mid.dwt.dwt.h0_col"] = torch.ones(
        1, 1, 2, 1
    )  # pytorch-wavelets' fixed filter buffers
    ck["model"]["mid.dwt.idwt.g0_col"] = torch.ones(1, 1, 2, 1)
    torch.save(ck, tmp_path / "old.pt")
    loaded, _, _ = load_model(tmp_path / "old.pt")
    for a, b in zip(m.state_dict().values(), loaded.state_dict().values()):
        assert torch.equal(a, b)


def test_a_file_from_before_the_stem_setting_loads_as_the_full_resolution_layout(tmp_path):
    m = DualDomainUNet(ModelConfig(width=8, time_dim=16, stem=1, dct_block=8, scales=()))
    torch.nn.init.normal_(m.out.weight)
    save_checkpoint(tmp_path / "old.pt", m, DiffusionConfig(), 4)
    ck = torch.load(tmp_path / "old.pt", weights_only=True)
    del ck["model_config"]["stem"]  # what files written before `model.stem` existed hold
    torch.save(ck, tmp_path / "old.pt")
    m2, _, _ = load_model(tmp_path / "old.pt")
    assert m2.cfg.stem == 1 and all(
        torch.equal(a, b) for a, b in zip(m.state_dict().values(), m2.state_dict().values())
    )
    ck["model_config"]["stem"] = (
        4  # settings that contradict the weights: one error, not a shape traceback
    )
    torch.save(ck, tmp_path / "bad.pt")
    with pytest.raises(ModelFileError, match="do not match its own settings"):
        load_model(tmp_path / "bad.pt")


def test_interrupted_save_leaves_the_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "ck.pt"
    m = DualDomainUNet(ModelConfig(width=8, time_dim=16, scales=()))
    save_checkpoint(path, m, DiffusionConfig(), 4, step=1)

    def dies(obj, f, *a, **k):
        with open(f, "wb") as fh:
            fh.write(b"half a checkpoint")
        raise KeyboardInterrupt  # the process is stopped mid-write

    monkeypatch.setattr(torch, "save", dies)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(path, m, DiffusionConfig(), 4, step=2)
    monkeypatch.undo()
    assert load_model(path)[2]["step"] == 1 and [p.name for p in tmp_path.iterdir()] == ["ck.pt"]


def test_a_model_file_records_its_scales_and_refuses_others_in_one_line(tmp_path):
    cfg = ModelConfig(width=8, time_dim=16, scales=(1.0, 4.0))
    save_checkpoint(tmp_path / "any.pt", DualDomainUNet(cfg), DiffusionConfig(), 4)
    m, _, ck = load_model(tmp_path / "any.pt")
    assert m.cfg.scales == (1.0, 4.0) and ck["scale"] == 4
    trained = TrainedModel.load(tmp_path / "any.pt")
    assert trained.sampler(SamplingSpec(scale=2.5)).spec.scale == 2.5
    assert trained.sampler(SamplingSpec()).spec.scale == 4  # its own scale
    with pytest.raises(UserError, match=r"^scale 4.5: \S+any.pt takes 1 to 4$"):
        trained.sampler(SamplingSpec(scale=4.5))
    save_checkpoint(
        tmp_path / "x4.pt",
        DualDomainUNet(ModelConfig(width=8, time_dim=16, scales=())),
        DiffusionConfig(),
        4,
    )
    with pytest.raises(UserError, match=r"x4.pt takes 4 only \(a model trained with model.scales"):
        TrainedModel.load(tmp_path / "x4.pt").sampler(SamplingSpec(scale=2))


def test_a_file_from_before_model_scales_loads_as_a_single_scale_model(tmp_path):
    save_checkpoint(
        tmp_path / "old.pt",
        DualDomainUNet(ModelConfig(width=8, time_dim=16, scales=())),
        DiffusionConfig(),
        4,
    )
    ck = torch.load(tmp_path / "old.pt", weights_only=True)
    del ck["model_config"]["scales"], ck["model_config"]["scale_input"]
    torch.save(ck, tmp_path / "old.pt")
    m, _, _ = load_model(
        tmp_path / "old.pt", expect_model=ModelConfig(width=8, time_dim=16, scales=())
    )
    assert m.cfg.scales == ()


def test_a_file_from_before_the_clean_up_knob_loads_without_it(tmp_path):
    cfg = ModelConfig(width=8, time_dim=16)
    save_checkpoint(tmp_path / "old.pt", DualDomainUNet(cfg), DiffusionConfig(), 4)
    ck = torch.load(tmp_path / "old.pt", weights_only=True)
    del ck["model_config"]["cleanup"]
    torch.save(ck, tmp_path / "old.pt")
    m, _, _ = load_model(tmp_path / "old.pt", expect_model=cfg)
    assert not m.cfg.cleanup
    with pytest.raises(ModelFileError, match="model.cleanup"):
        load_model(tmp_path / "old.pt", expect_model=dataclasses.replace(cfg, cleanup=True))


def test_scale_input_is_no_difference_for_a_single_scale_model(tmp_path):
    cfg = ModelConfig(width=8, time_dim=16, scales=(), scale_input="embedding")
    save_checkpoint(tmp_path / "x4.pt", DualDomainUNet(cfg), DiffusionConfig(), 4)
    load_model(tmp_path / "x4.pt", expect_model=dataclasses.replace(cfg, scale_input="channel"))
    single = Params(model=cfg)
    multi_only = ("model.scale_input", "train.integer_share", "train.integer_bias")
    for key in multi_only:  # the same run either way
        assert key not in weight_settings(single)
    assert "train.final_share" not in weight_settings(single)  # 0: the identities of before
    final = Params(train=dataclasses.replace(single.train, final_share=0.5))
    assert weight_settings(final)["train.final_share"] == 0.5
    multi = Params(model=dataclasses.replace(cfg, scales=(1.0, 4.0)))
    assert weight_settings(multi)["model.scale_input"] == "embedding"
    assert weight_settings(multi)["train.integer_share"] == multi.train.integer_share
    assert weight_settings(multi)["train.integer_bias"] == multi.train.integer_bias
    save_checkpoint(tmp_path / "any.pt", DualDomainUNet(multi.model), DiffusionConfig(), 4)
    with pytest.raises(ModelFileError, match="model.scale_input: file has 'embedding'"):
        load_model(
            tmp_path / "any.pt",
            expect_model=dataclasses.replace(multi.model, scale_input="channel"),
        )
