"""Call flows through the target: each takes a frozen plan and returns a frozen
observation (`harness.evidence`), with the capture around it (`captured`): the basic
call (`call`) and its re-INVITEs (`reinvite`), forking (`forking`), the Teams Direct
Routing flows (`teams`), Skype for Business calls (`sfb`), call admission control
(`cac`), bypass against anchored over the WAN link (`wan`) and robustness probes
(`robust`)."""
