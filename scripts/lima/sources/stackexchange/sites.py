"""Which Stack Exchange sites exist, which are STEM and which are Other (§2.1).

The paper splits 179 exchanges into 75 STEM and 99 Other and drops 5 niche ones, but never published
the lists. This table covers the 181 main sites of the 2024-2025 dumps (docs/data.md#sites-categories-and-renames) plus the
old names of renamed sites. It starts from the Technology + Science grouping and moves the
borderline consumer/hobby/meta-tech sites to Other, which gives 75 STEM, 94 Other and 5 niche
(tiny single-product blockchain sites) on today's 181: with the 6 non-English sites and stackapps
excluded, as is every meta site. `windowsphone` (closed, in pre-2024 dumps) counts as STEM.
"""
from __future__ import annotations


STEM = frozenset("""
    3dprinting ai android apple arduino askubuntu astronomy bioacoustics bioinformatics biology
    bitcoin blender chemistry codegolf codereview computergraphics crypto cs cstheory datascience
    dba devops dsp earthscience electronics emacs engineering ethereum gamedev genai gis iot langdev
    magento materials mathematica mathoverflow math networkengineering or physics proofassistants
    quant quantumcomputing raspberrypi reverseengineering robotics salesforce scicomp security
    serverfault sharepoint softwareengineering solana space sqa stackoverflow stats substrate
    superuser tex tor unix vi webmasters wordpress drupal joomla craftcms sitecore civicrm
    expressionengine tridion elementaryos monero windowsphone
""".split())

OTHER = frozenset("""
    academia anime aviation avp beer bicycles boardgames bricks buddhism chess chinese christianity
    coffee conlang cooking crafts diy ebooks economics ell english esperanto expatriates fitness
    freelancing french gaming gardening genealogy german graphicdesign hermeneutics hinduism history
    homebrew hsm interpersonal islam italian japanese judaism korean languagelearning latin law
    lifehacks linguistics literature martialarts mechanics moderators money movies musicfans music
    mythology outdoors parenting patents pets philosophy photo pm poker politics portuguese puzzling
    rpg russian scifi skeptics sound spanish sports travel vegetarianism woodworking workplace
    worldbuilding writers
    ux webapps softwarerecs hardwarerecs health cogsci sustainability opendata opensource
    cseducators matheducators retrocomputing drones ham
""".split())

# The paper discarded 5 niche exchanges without naming them; ours are the five smallest
# single-product sites of today's dumps.
NICHE = frozenset("cardano eosio iota stellar tezos".split())

NON_ENGLISH = frozenset("es.stackoverflow ja.stackoverflow pt.stackoverflow ru.stackoverflow rus ukrainian".split())

# Old dump names -> today's names (docs/data.md#sites-categories-and-renames).
RENAMED = {
    "alcohol": "beer", "mattermodeling": "materials", "communitybuilding": "moderators",
    "medicalsciences": "health", "psychology": "cogsci", "writing": "writers", "video": "avp",
}

_SUFFIXES = (".stackexchange.com", ".com", ".net")


def site_key(domain: str) -> str:
    """`cooking.stackexchange.com` -> `cooking`; `askubuntu.com` -> `askubuntu`;
    `es.stackoverflow.com` -> `es.stackoverflow`; renamed sites map to today's name."""
    d = domain.lower().strip()
    for suffix in _SUFFIXES:
        if d.endswith(suffix) and d != suffix.lstrip("."):
            d = d[: -len(suffix)]
            break
    return RENAMED.get(d, d)


def is_meta(domain: str) -> bool:
    d = domain.lower()
    return d.startswith("meta.") or ".meta." in d or d in ("stackapps.com", "stackapps")


def classify(domain: str, default: str | None = None) -> tuple[str | None, str]:
    """(category, why) for a site domain. category is 'stem', 'other' or None for excluded sites.

    An unknown site raises KeyError unless `default` is given, so a new site in a future dump is a
    decision the user makes, not a silent guess.
    """
    if is_meta(domain):
        return None, "meta site"
    key = site_key(domain)
    if key in NON_ENGLISH:
        return None, "non-English site"
    if key in NICHE:
        return None, "niche site (the paper discards 5)"
    if key in STEM:
        return "stem", "table"
    if key in OTHER:
        return "other", "table"
    if default is not None:
        return default, "--default-category"
    raise KeyError(domain)
