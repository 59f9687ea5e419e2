#!/usr/bin/env python3
"""Write the embedded Stack Exchange sample dumps in data/sample/stackexchange/ from the posts below.

The posts are written by us (no dump text is copied) in the real dump format (docs/data.md#postsxml):
one `<row .../>` per post, NULL columns left out, the Body as XML-escaped rendered HTML with `&#xA;`
newlines. Four sites are `.7z` archives (bzip2, as the real dumps are) holding Posts.xml and
Comments.xml; gardening is an extracted folder. Each site carries some of the real-dump quirks and
some of the drop cases of 01_stackexchange.py, so the sample exercises every rule; `--report`
prints which post carries which.

The output is byte-identical on every run (fixed mtimes, fixed member order, no clock reads), and
tests/test_se_sample.py checks that against the tracked files.

Run:
    .venv/bin/python scripts/tools/build_sample_stackexchange.py            # rewrite the sample
    .venv/bin/python scripts/tools/build_sample_stackexchange.py --report   # what carries what
"""
from __future__ import annotations

import argparse
import html
import os
import re
import sys
import textwrap
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_OUT = ROOT / "data" / "sample" / "stackexchange"
MTIME = 1700000000                      # every archive member and folder file gets this mtime
WATERMARK_MIN_ID = 1_000_000_000        # 2025-06 dumps: fabricated rows from this Id up

# The 2024+ dumps open every XML file with a licence comment before the root element. This text
# is ours; a parser must cope with a multi-line comment there, whatever it says.
LICENCE_COMMENT = """<!--
  Sample data dump written for lima-repro, in the layout of the Stack Exchange data dumps.
  Each row's content is licensed under the Creative Commons licence named in its
  ContentLicense attribute (CC BY-SA 2.5, 3.0 or 4.0); attribution is due to the post's owner.
-->"""
LICENCE_TXT = ("Sample dump written for lima-repro. Content licensed CC BY-SA, version per row "
               "(ContentLicense attribute).\n")

# Attribute order of the real Posts.xml; a row uses the subset it has.
POST_ATTRS = (
    "Id", "PostTypeId", "AcceptedAnswerId", "ParentId", "CreationDate", "Score", "ViewCount",
    "Body", "OwnerUserId", "OwnerDisplayName", "LastEditorUserId", "LastEditorDisplayName",
    "LastEditDate", "LastActivityDate", "Title", "Tags", "AnswerCount", "CommentCount",
    "FavoriteCount", "ClosedDate", "CommunityOwnedDate", "ContentLicense",
)
COMMENT_ATTRS = ("Id", "PostId", "Score", "Text", "CreationDate", "UserDisplayName", "UserId",
                 "ContentLicense")


# ---- the shapes the content below is written in ---------------------------------------------

def h(text: str) -> str:
    """A Body as the site stores it: rendered HTML, blocks separated by newlines, ending in one."""
    return textwrap.dedent(text).strip("\n") + "\n"


@dataclass
class Answer:
    score: int | str                     # a str only for the malformed row
    owner: int | None
    body: str
    thread: tuple = ()                   # (("asker" | "answerer", text), ...) comments under it
    id: int | None = None                # default: the question's Id + its position
    attrs: dict = field(default_factory=dict)


@dataclass
class Question:
    id: int
    date: str                            # "YYYY-MM-DD HH:MM", UTC
    score: int
    views: int
    owner: int | None
    title: str
    tags: tuple
    body: str
    answers: tuple
    accepted: int | None = None          # index into answers
    expect: str = "keep"                 # "keep" or the drop reasons, comma-separated
    attrs: dict = field(default_factory=dict)


def q(id, date, score, views, owner, title, tags, body, *answers, accepted=None, expect="keep",
      **attrs) -> Question:
    return Question(id, date, score, views, owner, title, tuple(tags.split()), h(body), answers,
                    accepted, expect, attrs)


def a(score, owner, body, *, thread=(), id=None, **attrs) -> Answer:
    return Answer(score, owner, h(body), tuple(thread), id, attrs)


def row(**attrs) -> dict:
    """Any other post row (tag wikis, nominations, placeholders), written as given."""
    return attrs


@dataclass
class Site:
    domain: str
    category: str                        # "stem" or "other", as the stage's site table has it
    posts: list
    comments: list = field(default_factory=list)   # (post_id, user_id, text, score) unrelated ones
    folder: bool = False                 # an extracted folder instead of a .7z
    pipe_tags: bool = False              # |a|b| (2024+) instead of <a><b>
    bom: bool = False
    licence_comment: bool = False
    crlf: bool = False
    final_newline: bool = True
    licence_txt: bool = False            # a license.txt member, as in archives regenerated in 2024


# ==== chemistry.stackexchange.com (STEM): <a><b> tags, LF, MathJax ================================

def chemistry() -> Site:
    posts = [
        q(12, "2014-05-06 09:12", 120, 48211, 21, "Why does ice float on liquid water?",
          "water density hydrogen-bond", r"""
          <p>Almost every substance I can think of is denser as a solid than as a liquid, so the solid sinks in its own melt. Water is the obvious exception. What is it about the structure of ice that makes it less dense than the liquid?</p>
          """,
          a(148, 35, r"""
          <p>In ice every water molecule is locked into a hydrogen-bonded network that is <em>more open</em> than the disordered packing of the liquid, so the same mass takes up more volume.</p>
          <h2>The structure of ordinary ice</h2>
          <p>Each oxygen atom in hexagonal ice sits at the centre of a tetrahedron formed by four neighbouring oxygens. Two of the four contacts are the molecule's own O–H bonds pointing at neighbours; the other two are hydrogen bonds accepted from neighbours. The result is a framework of puckered six-membered rings with a lot of empty space in the middle of each ring.</p>
          <p>The tetrahedral angle ($\approx 109.5^\circ$) is close to the H–O–H angle of the free molecule ($104.5^\circ$), so the network is almost strain-free, but it is far from close-packed. Close-packed spheres fill about 74&nbsp;% of space; the oxygen framework of ice fills only about a third of it.</p>
          <h2>What changes on melting</h2>
          <p>When ice melts, roughly 10–15&nbsp;% of the hydrogen bonds break at any instant and the rest constantly rearrange. Molecules can then slip into the cavities of the former lattice, and the average number of nearest neighbours rises from exactly 4 to about 4.4–4.7. More neighbours in the first shell means a denser liquid:</p>
          <ul>
          <li>ice at 0 °C: $\rho \approx 0.917\ \mathrm{g\,cm^{-3}}$</li>
          <li>liquid water at 0 °C: $\rho \approx 0.9998\ \mathrm{g\,cm^{-3}}$</li>
          <li>liquid water at 4 °C, the maximum: $\rho \approx 1.0000\ \mathrm{g\,cm^{-3}}$</li>
          </ul>
          <p>The density maximum at 4 °C comes from two competing effects. Warming breaks more of the open, ice-like clusters (density goes up) while ordinary thermal expansion pushes molecules apart (density goes down). Below 4 °C the first effect wins, above it the second.</p>
          <h2>Why most substances behave differently</h2>
          <p>Most molecular solids are held together by non-directional forces, so the solid packs as tightly as the molecular shape allows and the liquid is a looser version of the same packing. Hydrogen bonds are strongly <strong>directional</strong>, and satisfying them is worth more energy than packing tightly. Silicon, germanium, gallium and bismuth show the same anomaly for a similar reason: their solids are open, directionally bonded networks.</p>
          <p>The consequence is large: lakes freeze from the top down, and the floating ice insulates the water beneath it.</p>
          """, thread=(
              ("asker", "Does the same reasoning explain why a full glass bottle of water cracks in the freezer?"),
              ("answerer", "Yes, same effect: water expands by about 9 % on freezing and a closed bottle has nowhere to put the extra volume."),
              ("asker", "Thanks, that makes sense now."))),
          a(31, 40, r"""
          <p>Hydrogen bonding. In the solid each molecule makes four hydrogen bonds in a tetrahedral arrangement, which forces an open lattice with lots of empty space. The liquid packs more tightly because the network is partly broken.</p>
          <p>See the <a href="https://en.wikipedia.org/wiki/Ice_Ih" rel="nofollow noreferrer">Wikipedia article on hexagonal ice</a> for pictures of the lattice.</p>
          """),
          accepted=0),

        q(19, "2014-09-14 17:40", 85, 30125, 44,
          "Why does water boil at a much higher temperature than hydrogen sulfide?",
          "boiling-point hydrogen-bond intermolecular-forces", r"""
          <p>Oxygen and sulfur are in the same group, and H<sub>2</sub>S is the heavier molecule. Heavier molecules usually boil at higher temperatures, yet water boils at 100 °C and hydrogen sulfide at about −60 °C. Where does a difference of 160 degrees come from?</p>
          """,
          a(97, 35, r"""
          <p>Molar mass alone predicts the opposite order, so something other than London dispersion forces dominates in water. That something is <strong>hydrogen bonding</strong>, and oxygen is much better at it than sulfur for three connected reasons.</p>
          <ol>
          <li><p><strong>Electronegativity.</strong> On the Pauling scale oxygen is 3.44 and sulfur 2.58, while hydrogen is 2.20. The O–H bond is strongly polar and leaves a substantial partial positive charge on hydrogen; the S–H bond is barely polar.</p></li>
          <li><p><strong>Size.</strong> Oxygen's lone pairs sit in compact orbitals close to the nucleus, so a neighbouring hydrogen can approach closely and the electrostatic attraction is strong. Sulfur's lone pairs are spread over a larger, more diffuse volume.</p></li>
          <li><p><strong>Geometry.</strong> Each water molecule has two donors and two acceptors, so it can take part in up to four hydrogen bonds and build an extended three-dimensional network. Liquid $\ce{H2S}$ has essentially no such network.</p></li>
          </ol>
          <p>A typical O–H···O hydrogen bond is worth roughly $20\ \mathrm{kJ\,mol^{-1}}$, compared with a few $\mathrm{kJ\,mol^{-1}}$ for the dipole and dispersion interactions between $\ce{H2S}$ molecules. The enthalpies of vaporisation show it directly:</p>
          <pre><code>compound   M (g/mol)   b.p. (°C)   ΔH_vap (kJ/mol)
          H2O        18.0        100.0       40.7
          H2S        34.1        −60.3       18.7
          H2Se       81.0        −41.3       19.7
          H2Te      129.6         −2.2       23.2
          </code></pre>
          <p>Going down the group from sulfur to tellurium the boiling point rises again, as expected from increasing polarisability. Water is the outlier at the top of the column; extrapolating the trend of the heavier hydrides back to a molar mass of 18 would put its boiling point somewhere near −90 °C.</p>
          <p>The same pattern appears in groups 15 and 17: $\ce{NH3}$ and $\ce{HF}$ boil far above $\ce{PH3}$ and $\ce{HCl}$. Only the three most electronegative second-row elements, N, O and F, form hydrogen bonds strong enough to produce the anomaly.</p>
          """),
          a(12, 50, r"""
          <p>Water forms hydrogen bonds, H<sub>2</sub>S hardly does. Breaking those bonds takes a lot of energy, so water needs a much higher temperature to boil.</p>
          """),
          a(2, 61, r"""
          <p>Because oxygen is more electronegative.</p>
          """),
          accepted=0),

        q(27, "2015-02-10 11:05", 64, 21877, 52, "How does a buffer solution resist changes in pH?",
          "acid-base ph buffer", r"""
          <p>My textbook says that a mixture of acetic acid and sodium acetate is a buffer and that adding a little HCl or NaOH barely changes its pH. I can follow the calculation but not the intuition. What actually happens to the added acid or base?</p>
          """,
          a(71, 67, r"""
          <p>A buffer contains a weak acid $\ce{HA}$ <em>and</em> its conjugate base $\ce{A-}$ in comparable amounts. Added strong acid or base does not stay free in solution; it is converted almost completely into more of the weak pair.</p>
          <ul>
          <li>Added $\ce{H3O+}$ reacts with the base: $\ce{A- + H3O+ -> HA + H2O}$</li>
          <li>Added $\ce{OH-}$ reacts with the acid: $\ce{HA + OH- -> A- + H2O}$</li>
          </ul>
          <p>Both reactions have very large equilibrium constants, so the strong acid or base is consumed. What remains is a slightly different ratio of $\ce{HA}$ to $\ce{A-}$, and the pH depends only on that ratio through the Henderson–Hasselbalch equation:</p>
          <p>$$\mathrm{pH} = \mathrm{p}K_\mathrm{a} + \log_{10}\frac{[\ce{A-}]}{[\ce{HA}]}$$</p>
          <h2>A worked example</h2>
          <p>Take 1.00 L containing 0.100 mol acetic acid and 0.100 mol sodium acetate ($\mathrm{p}K_\mathrm{a} = 4.76$). The ratio is 1, so the pH is 4.76. Now add 0.010 mol HCl:</p>
          <pre><code>acetate:     0.100 - 0.010 = 0.090 mol
          acetic acid: 0.100 + 0.010 = 0.110 mol
          pH = 4.76 + log10(0.090 / 0.110) = 4.76 - 0.087 = 4.67
          </code></pre>
          <p>The same 0.010 mol HCl in a litre of pure water gives pH 2.00: a change of five units instead of less than a tenth of a unit.</p>
          <h2>Limits of a buffer</h2>
          <ol>
          <li><strong>Range</strong>: a buffer works well only within about one pH unit of its $\mathrm{p}K_\mathrm{a}$, where neither component is scarce.</li>
          <li><strong>Capacity</strong>: the total concentration of $\ce{HA}$ plus $\ce{A-}$ sets how much acid or base can be absorbed before one component runs out. A tenfold more dilute buffer has the same pH but a tenth of the capacity.</li>
          </ol>
          <p>Blood is the classic biological example: the carbonic acid/bicarbonate pair keeps plasma near pH 7.4, helped by the lungs removing $\ce{CO2}$ and the kidneys adjusting bicarbonate.</p>
          """, thread=(
              ("asker", "Why does the useful range end about one pH unit either side of the pKa?"),
              ("answerer", "At one unit away the ratio is 10:1, so the minor component is only about 9 % of the total. A little more acid or base uses it up and the pH starts moving quickly."),
              ("asker", "So range and capacity are really the same limitation seen from two sides?"),
              ("answerer", "Pretty much, yes: both say how much of the minor component is left to react."))),
          a(9, 73, r"""
          <p>The conjugate base mops up added protons and the weak acid neutralises added hydroxide, so the ratio [A<sup>−</sup>]/[HA] changes only a little and with it the pH.</p>
          """),
          accepted=0),

        q(34, "2016-01-18 08:30", 40, 15002, 80,
          "What makes a catalyst speed up a reaction without being consumed?",
          "kinetics catalysis activation-energy", r"""
          <p>We were told a catalyst is not used up in a reaction, but it must take part somehow, otherwise it could not change anything. How can both be true?</p>
          """,
          a(44, 35, r"""
          <p>A catalyst opens a different reaction pathway, a different sequence of elementary steps, whose highest energy barrier is lower than that of the uncatalysed route. It takes part in that pathway and is consumed in one step, but a later step of the same cycle regenerates it in its original form.</p>
          <h2>A catalytic cycle</h2>
          <p>Written generically, with catalyst $\ce{C}$ and reactants $\ce{A}$ and $\ce{B}$:</p>
          <pre><code>A + C   →  AC          (catalyst binds a reactant)
          AC + B  →  ABC         (second reactant joins)
          ABC     →  AB + C      (product leaves, catalyst is free again)
          -----------------------------------------------------------
          A + B   →  AB          (net reaction: C cancels out)
          </code></pre>
          <p>Because $\ce{C}$ appears on both sides of the overall equation it does not show up in the stoichiometry, even though each catalyst molecule may go round the cycle millions of times. The number of cycles per active site per second is called the <strong>turnover frequency</strong>.</p>
          <h2>Why a lower barrier matters so much</h2>
          <p>Rate constants depend exponentially on the activation energy through the Arrhenius equation, $k = A\,e^{-E_\mathrm{a}/RT}$. Lowering $E_\mathrm{a}$ by $20\ \mathrm{kJ\,mol^{-1}}$ at 298 K multiplies $k$ by about $e^{20000/(8.314 \times 298)} \approx 3200$.</p>
          <h2>What a catalyst does not change</h2>
          <ul>
          <li>The overall $\Delta G$ of the reaction, and so the position of equilibrium. The forward and reverse reactions are accelerated by the same factor.</li>
          <li>Feasibility: a catalyst cannot make a thermodynamically unfavourable reaction go.</li>
          </ul>
          <p>In practice catalysts <em>are</em> slowly lost through side reactions, poisoning (sulfur compounds on platinum, for example) or sintering of metal particles, which is why industrial catalysts are replaced or regenerated periodically.</p>
          """),
          a(6, 88, r"""
          <p>It lowers the activation energy by providing an alternative mechanism, and it is regenerated at the end of that mechanism.</p>
          """),
          # A malformed row: the score is not an integer (a counted skip, never a crash).
          a("n/a", 95, r"""
          <p>Catalysts lower the activation energy. That is all there is to it.</p>
          """)),

        q(41, "2017-03-09 14:50", 22, 9120, 88, "Why do noble gases rarely form compounds?",
          "noble-gases bond reactivity", r"""
          <p>Noble gases are described as inert, yet xenon compounds exist. What keeps most of them from reacting, and what is different about xenon?</p>
          """,
          a(25, 35, r"""
          <p>The noble gases have completely filled valence shells ($n\mathrm{s}^2 n\mathrm{p}^6$, or $1\mathrm{s}^2$ for helium). That configuration shows up in three measurable properties that all work against bond formation:</p>
          <ul>
          <li><strong>Very high first ionisation energies.</strong> Helium has the highest of any element (2372 kJ/mol); neon is second. Removing an electron to form a cation costs a lot.</li>
          <li><strong>No useful electron affinity.</strong> An added electron would have to go into the next shell, so anions are not stable.</li>
          <li><strong>No half-filled orbitals</strong> to share in a conventional covalent bond.</li>
          </ul>
          <p>"Rarely" is the right word, not "never". Going down the group the outer electrons are farther from the nucleus and better shielded, so the ionisation energy falls:</p>
          <pre><code>He  2372 kJ/mol
          Ne  2081
          Ar  1521
          Kr  1351
          Xe  1170
          Rn  1037
          </code></pre>
          <p>The ionisation energy of xenon is close to that of the $\ce{O2}$ molecule (1165 kJ/mol). Neil Bartlett noticed this in 1962: since $\ce{PtF6}$ oxidises $\ce{O2}$ to $\ce{O2+}$, it ought to oxidise xenon too. The reaction worked and gave the first noble gas compound, usually written $\ce{Xe+[PtF6]-}$ (the real product is more complicated).</p>
          <p>Since then a few hundred xenon compounds have been made, such as $\ce{XeF2}$, $\ce{XeF4}$, $\ce{XeF6}$ and $\ce{XeO3}$, plus a handful of krypton compounds like $\ce{KrF2}$. They all need the most electronegative partners, fluorine and oxygen, because only these pull electron density away from the noble gas strongly enough. Compounds of helium, neon and argon are limited to species seen at low temperature or in the gas phase, like $\ce{HArF}$ trapped in a solid argon matrix.</p>
          """),
          a(4, 99, r"""
          <p>Full octet, so there is nothing to gain from bonding. Xenon is big enough that fluorine can still pull an electron off.</p>
          """),
          accepted=0),

        q(48, "2018-11-02 19:20", 12, 7120, 102,
          "How is the oxidation state of a carbon atom in an organic molecule determined?",
          "organic-chemistry redox oxidation-state", r"""
          <p>Oxidation states are easy for ions, but in organic molecules carbon can apparently have any value from −4 to +4. How do I work out the oxidation state of a particular carbon?</p>
          """,
          a(14, 67, r"""
          <p>Use the same bookkeeping as for any other element, applied to one carbon atom at a time: pretend every bond is fully ionic and give both bonding electrons to the more electronegative partner.</p>
          <p>In practice that reduces to a short set of rules for each bond on the carbon in question:</p>
          <ul>
          <li>bond to H (less electronegative than C): <strong>−1</strong></li>
          <li>bond to another carbon: <strong>0</strong>, because identical partners share equally</li>
          <li>bond to a more electronegative atom such as O, N, Cl or Br: <strong>+1</strong> per bond, so a C=O double bond counts +2</li>
          <li>a formal charge on that carbon, if any, is added at the end</li>
          </ul>
          <p>The sum of the contributions is the oxidation state of that carbon.</p>
          <h2>Examples</h2>
          <pre><code>CH4              4 × (−1)                 = −4
          CH3OH            3 × (−1) + 1 × (+1)      = −2
          HCHO (methanal)  2 × (−1) + 2 × (+1)      =  0
          HCOOH            1 × (−1) + 3 × (+1)      = +2
          CO2              4 × (+1)                 = +4
          </code></pre>
          <p>Methane, methanol, methanal, methanoic acid and carbon dioxide form a series of two-electron oxidations, which is exactly what the numbers show.</p>
          <p>In larger molecules each carbon gets its own value. In ethanol, $\ce{CH3CH2OH}$, the methyl carbon is −3 (three H, one C) and the carbon bearing the OH group is −1 (two H, one C, one O). Oxidation to acetaldehyde changes only the second carbon, from −1 to +1, while the methyl group stays at −3. Averaging over the molecule (the "−2 for ethanol" sometimes quoted) hides that information, so per-carbon values are far more useful for following redox steps in mechanisms.</p>
          """),
          a(3, 110, r"""
          <p>Count bonds to heteroatoms minus bonds to hydrogen.</p>
          """),
          accepted=0),

        q(55, "2013-08-22 10:02", 150, 61020, 110,
          "Why is fluorine more reactive than chlorine despite its lower electron affinity?",
          "halogens reactivity electron-affinity", r"""
          <p>Chlorine has the highest electron affinity of all elements, higher than fluorine. Since halogens react by gaining an electron, shouldn't chlorine be the more reactive one?</p>
          """,
          a(162, 35, r"""
          <p>Electron affinity measures only one step of a reaction: adding an electron to an isolated gaseous atom. Fluorine's value (328 kJ/mol) is indeed slightly lower than chlorine's (349 kJ/mol), because the incoming electron is crowded into a small 2p shell that already holds five electrons, and electron–electron repulsion eats into the energy gained.</p>
          <p>Reactivity depends on the energy balance of the whole reaction. For the formation of an aqueous halide ion from the element, $\ce{1/2 X2(g) -> X-(aq)}$, the steps compare as follows:</p>
          <pre><code>step (kJ/mol)                F        Cl
          ½ X2 → X (dissociation)      +79     +121
          X + e⁻ → X⁻ (−EA)           −328     −349
          X⁻(g) → X⁻(aq) (hydration)  −506     −364
          total                       −755     −592
          </code></pre>
          <p>Two terms outweigh the small electron-affinity difference:</p>
          <ol>
          <li><strong>The F–F bond is unusually weak</strong> (158 kJ/mol, against 243 kJ/mol for Cl–Cl). The short bond brings the lone pairs of the two atoms close together and they repel each other, so breaking the molecule apart is cheap.</li>
          <li><strong>Fluoride is small</strong>, so it is hydrated – or surrounded by cations in a crystal lattice – far more strongly than chloride. The bonds fluorine forms with other elements are strong for the same reason: H–F is 565 kJ/mol, H–Cl 431 kJ/mol.</li>
          </ol>
          <p>Kinetics points the same way. The weak F–F bond gives low activation barriers, so fluorine reacts quickly, often violently, with almost everything.</p>
          <p>Single atomic properties such as electron affinity, ionisation energy or electronegativity are useful for trends but rarely decide reactivity on their own. A Born–Haber style cycle that includes bond dissociation and solvation or lattice energies is the safer way to compare.</p>
          """),
          a(40, 118, r"""
          <p>Electron affinity is not the whole story. The F–F bond is very weak (158 kJ/mol vs 243 kJ/mol for Cl–Cl) and fluoride forms much stronger bonds and is hydrated much more strongly, so overall the reactions of fluorine release far more energy.</p>
          """),
          accepted=1, LastEditorUserId=35, LastEditDate="2019-04-02T08:11:45.120"),

        # ---- drop cases ----
        q(62, "2019-02-13 16:25", 5, 1800, 125, "What is the molar mass of sulfuric acid?",
          "homework stoichiometry", r"""
          <p>For my homework I need the molar mass of H<sub>2</sub>SO<sub>4</sub>. What is it?</p>
          """,
          a(11, 67, r"""
          <p>The molar mass of a compound is the sum of the standard atomic weights of its atoms, each multiplied by the number of times the atom occurs in the formula. For $\ce{H2SO4}$ that means two hydrogens, one sulfur and four oxygens.</p>
          <pre><code>element  count  atomic weight  contribution
          H        2       1.008          2.016
          S        1      32.06          32.06
          O        4      15.999         63.996
                                        ------
                                        98.072 g/mol
          </code></pre>
          <p>So the molar mass is about <strong>98.07 g/mol</strong>, usually rounded to 98.1 g/mol in textbook problems.</p>
          <p>Points that often cause confusion in exercises of this kind:</p>
          <ul>
          <li>Use the atomic weights on the periodic table supplied with the course; tables round differently (sulfur appears as 32.06, 32.065 or 32.07), which changes the last digit.</li>
          <li>Molar mass has units of g/mol. The dimensionless 98.07 is the relative molecular mass $M_\mathrm{r}$.</li>
          <li>Keep more digits than needed in intermediate steps and round only at the end, otherwise rounding errors pile up in later stoichiometry.</li>
          </ul>
          <p>With the molar mass known, converting between mass and amount is one division: 49.0 g of sulfuric acid is $49.0 / 98.07 = 0.500$ mol, which contains 1.00 mol of hydrogen atoms and 2.00 mol of oxygen atoms.</p>
          """),
          a(2, 130, r"""
          <p>98 g/mol.</p>
          """),
          expect="closed", ClosedDate="2019-02-13T18:40:12.330"),

        q(69, "2020-06-01 07:45", 15, 900, 131, "Why does it fail?", "organic-chemistry grignard-reagent", r"""
          <p>I tried to prepare phenylmagnesium bromide from bromobenzene and magnesium turnings in diethyl ether, but nothing happened even after an hour of reflux. The ether came from a bottle opened last month. Why does it fail?</p>
          """,
          a(18, 67, r"""
          <p>Grignard reagents are notoriously hard to start, and when nothing happens at all the cause is almost always one of two things: water, or a passivated magnesium surface.</p>
          <h2>Water</h2>
          <p>Organomagnesium compounds are strong bases and are destroyed at once by water: $\ce{PhMgBr + H2O -> PhH + Mg(OH)Br}$. Diethyl ether is hygroscopic, and a bottle opened repeatedly over a month can easily hold enough water to quench the first traces of reagent as they form, so the reaction never gets going. Use freshly dried solvent (from a solvent purification system, distilled from sodium/benzophenone, or stored over activated molecular sieves), flame- or oven-dried glassware, and a drying tube or an inert gas line.</p>
          <h2>The magnesium surface</h2>
          <p>Magnesium turnings are covered with a thin layer of oxide and hydroxide that blocks the reaction. Common ways to activate them:</p>
          <ul>
          <li>add a small crystal of iodine; the brown colour fading is a sign the reaction has started</li>
          <li>add a few drops of 1,2-dibromoethane, which reacts readily and exposes fresh metal (ethene bubbles are visible)</li>
          <li>crush some turnings with a dry glass rod under the solvent, or stir them dry under nitrogen overnight</li>
          <li>add a little pre-formed Grignard reagent from an earlier batch</li>
          </ul>
          <p>Once started, the reaction is exothermic and usually sustains a gentle reflux by itself; add the rest of the bromobenzene slowly so it does not run away.</p>
          """),
          a(3, 140, r"""
          <p>Wet ether. Dry it.</p>
          """),
          expect="title"),

        q(76, "2016-09-30 12:00", 95, 40300, 140,
          "How are the colours of transition metal complexes explained by crystal field theory?",
          "transition-metals coordination-compounds color crystal-field-theory", r"""
          <p>Copper sulfate solution is blue, nickel complexes are green, and zinc compounds are colourless. How does crystal field theory account for the colours?</p>
          """,
          a(110, 35, r"""
          <p>Crystal field theory treats the ligands as point negative charges (or dipoles) around the metal ion and asks what their electric field does to the energies of the five metal d orbitals. Colour follows from the answer.</p>
          <h2>Splitting of the d orbitals</h2>
          <p>In a free ion the five d orbitals have the same energy. Six ligands placed along the $x$, $y$ and $z$ axes (an octahedral complex) approach the lobes of $d_{x^2-y^2}$ and $d_{z^2}$ head-on, so electrons in these orbitals are repelled strongly and the orbitals rise in energy. The other three, $d_{xy}$, $d_{xz}$ and $d_{yz}$, point between the ligands and are raised less. The result is two groups:</p>
          <ul>
          <li>$t_{2g}$: three orbitals, lowered by $0.4\,\Delta_\mathrm{o}$ relative to the average</li>
          <li>$e_g$: two orbitals, raised by $0.6\,\Delta_\mathrm{o}$</li>
          </ul>
          <p>The gap $\Delta_\mathrm{o}$ is the octahedral <strong>crystal field splitting energy</strong>. In a tetrahedral complex the pattern is inverted and smaller: $\Delta_\mathrm{t} \approx \tfrac{4}{9}\Delta_\mathrm{o}$ for the same metal and ligands, because there are fewer ligands and none of them points straight at an orbital.</p>
          <h2>From splitting to colour</h2>
          <p>For most first-row complexes $\Delta_\mathrm{o}$ lies between about 10&nbsp;000 and 30&nbsp;000 $\mathrm{cm^{-1}}$, which corresponds to photons of visible light. An electron in a $t_{2g}$ orbital can absorb a photon of energy $\Delta_\mathrm{o}$ and jump to an $e_g$ orbital (a d–d transition). The complex removes that band from white light and we see the <em>complementary</em> colour:</p>
          <pre><code>absorbed          wavelength (nm)   colour seen
          violet            400–430           yellow-green
          blue              430–490           yellow / orange
          green             490–560           red / purple
          yellow            560–590           violet
          orange            590–630           blue
          red               630–700           blue-green
          </code></pre>
          <p>Hydrated copper(II), $\ce{[Cu(H2O)6]^2+}$, absorbs broadly in the orange-red around 800 nm, so the solution looks pale blue. $\ce{[Ni(H2O)6]^2+}$ absorbs in the red and the violet and transmits green.</p>
          <h2>Why some compounds are colourless</h2>
          <p>A d–d transition needs an electron to move and a place to move to:</p>
          <ul>
          <li>$d^0$ ions such as $\ce{Sc^3+}$ and $\ce{Ti^4+}$ have no d electrons;</li>
          <li>$d^{10}$ ions such as $\ce{Zn^2+}$, $\ce{Cu+}$ and $\ce{Ag+}$ have no empty d orbital.</li>
          </ul>
          <p>Their compounds are white or colourless unless another kind of transition, such as charge transfer, is involved. Permanganate, $\ce{MnO4-}$, is formally $d^0$ but intensely purple because an electron moves from the oxygen ligands to the metal; charge-transfer bands are allowed transitions and are hundreds of times more intense than d–d bands.</p>
          <h2>What controls the size of the splitting</h2>
          <ol>
          <li><p><strong>The ligand.</strong> Ligands can be ordered by the splitting they cause, the <em>spectrochemical series</em>:</p>
          <p>$\ce{I-} &lt; \ce{Br-} &lt; \ce{Cl-} &lt; \ce{F-} &lt; \ce{OH-} &lt; \ce{H2O} &lt; \ce{NH3} &lt; \text{en} &lt; \ce{NO2-} &lt; \ce{CN-} &lt; \ce{CO}$</p>
          <p>Replacing water by ammonia around copper(II) increases $\Delta_\mathrm{o}$, moves the absorption to shorter wavelength and turns the pale blue into the deep blue of $\ce{[Cu(NH3)4(H2O)2]^2+}$.</p></li>
          <li><p><strong>The oxidation state.</strong> A higher charge pulls the ligands closer and increases the splitting, typically by 50–100&nbsp;% from +2 to +3.</p></li>
          <li><p><strong>The row.</strong> 4d and 5d metals have larger, more diffuse orbitals and splittings 30–50&nbsp;% larger than their 3d analogues, which is why their complexes are almost always low-spin.</p></li>
          <li><p><strong>The geometry</strong>, as above: tetrahedral complexes absorb at longer wavelengths than octahedral ones. Cobalt(II) is the textbook case: pink octahedral $\ce{[Co(H2O)6]^2+}$ and blue tetrahedral $\ce{[CoCl4]^2-}$, interconverted by adding concentrated hydrochloric acid.</p></li>
          </ol>
          <h2>Intensity</h2>
          <p>Strictly, d–d transitions in a centrosymmetric octahedral complex are forbidden by the Laporte rule, because the orbitals involved have the same parity. They gain some intensity from molecular vibrations that momentarily remove the centre of symmetry, but they stay weak, with molar absorption coefficients of roughly 1–100 $\mathrm{L\,mol^{-1}\,cm^{-1}}$. That is why many octahedral complexes are pale, while tetrahedral complexes, which lack a centre of symmetry, are noticeably more intensely coloured.</p>
          <h2>Limitations</h2>
          <p>Crystal field theory ignores covalent bonding between metal and ligand, so it cannot explain why neutral CO produces a larger splitting than negatively charged halides. Ligand field theory, which combines the crystal field picture with molecular orbital theory, handles that through π-bonding: π-donor ligands such as halides decrease the splitting and π-acceptor ligands such as CO and cyanide increase it.</p>
          """, _allow_i=1),   # iodide, $\ce{I-}$, reads as an "I"
          a(20, 150, r"""
          <p>The ligands split the d orbitals into two sets separated by an energy gap. Light of the matching energy is absorbed when an electron jumps across the gap, and the colour seen is the complement of the absorbed colour. Zinc(II) is $d^{10}$, so there is no empty orbital to jump to and its compounds are colourless.</p>
          """),
          accepted=0, expect="answer_long"),

        q(83, "2021-03-03 09:15", 3, 2200, 150, "Which solvent works best for recrystallising benzoic acid?",
          "purification solvents", r"""
          <p>Our lab manual says water, but the recovery was poor. Which solvent gives the best recovery for benzoic acid?</p>
          """,
          a(5, 67, r"""
          <p>Water is the standard choice: benzoic acid is very soluble in boiling water (about 68 g/L) and poorly soluble in cold water (about 3 g/L). Poor recovery usually means too much water was used or the solution was not cooled in ice before filtering.</p>
          """),
          a(1, 160, r"""
          <p>Try a water/ethanol mixture.</p>
          """),
          expect="answer_score,answer_short"),

        q(90, "2021-10-19 20:10", 4, 1300, 170, "Is there a simple way to test for starch at home?",
          "analytical-chemistry iodine", r"""
          <p>Is there a safe test for starch in food that needs no lab equipment?</p>
          """,
          a(6, 35, r"""
          <p>Iodine tincture from a pharmacy, diluted with water, turns blue-black on contact with starch. The colour comes from triiodide ions sitting inside the helix of amylose.</p>
          """),
          expect="answer_score,answer_short"),

        row(Id=95, PostTypeId=5, CreationDate="2014-05-06T10:00:00.000", Score=0, Body=h(r"""
            <p>A hydrogen bond is an attraction between a hydrogen atom bonded to an electronegative atom (N, O, F) and a lone pair on another electronegative atom.</p>
            """), OwnerUserId=35, LastActivityDate="2014-05-06T10:00:00.000", CommentCount=0,
            ContentLicense="CC BY-SA 3.0"),
        row(Id=96, PostTypeId=4, CreationDate="2014-05-06T10:00:00.000", Score=0,
            Body="For questions about hydrogen bonding between molecules or within a molecule.",
            OwnerUserId=35, LastActivityDate="2014-05-06T10:00:00.000", CommentCount=0,
            ContentLicense="CC BY-SA 3.0"),
    ]
    comments = [
        (12, 44, "Related: the density maximum of water at 4 °C.", 3),
        (19, 21, "Compare also NH3 vs PH3.", 1),
        (62, 35, "What have you tried so far? Homework questions need to show some effort.", 4),
        (69, 67, "Please put the actual problem (a Grignard that does not start) in the title.", 2),
    ]
    return Site("chemistry.stackexchange.com", "stem", posts, comments)


# ==== unix.stackexchange.com (STEM): |a|b| tags, licence comment, CRLF, invalid char refs =========

def unix() -> Site:
    binary_log = q(254, "2023-02-08 13:37", 27, 15500, 42,
          "Why does grep report a binary file match on a plain text log?",
          "grep text-processing logs", r"""
          <p>Running <code>grep ERROR app.log</code> prints only <code>Binary file app.log matches</code>. The file is a normal text log written by our Java service. Viewed with <code>less</code>, one line has odd characters in it:</p>
          <pre><code>2023-02-07 10:15:02 INFO worker[RS]started[NUL]
          </code></pre>
          <p>Why does grep treat the file as binary, and how can I search it as text?</p>
          """,
          a(30, 7, r"""
          <p>GNU grep decides for each file whether it is binary by looking at the data it reads. A file counts as binary if it contains a NUL byte, or byte sequences that are not valid in the current locale's encoding (Latin-1 bytes in a UTF-8 locale, for instance). A single stray NUL in the log is enough.</p>
          <p>Once a file is classified as binary, grep still searches it but suppresses the matching lines and prints only a one-line summary, to avoid dumping raw bytes to the terminal. Versions 3.5 and later print that message to standard error as <code>grep: app.log: binary file matches</code>.</p>
          <h2>Options</h2>
          <ul>
          <li><code>grep -a ERROR app.log</code> (or <code>--text</code>) processes the file as text regardless. Matching lines are printed as they are, NUL bytes included, which can garble the terminal.</li>
          <li><code>grep --binary-files=text</code> is the long form of the same thing.</li>
          <li>If the problem is the encoding rather than NUL bytes, running grep in the C locale makes every byte valid: <code>LC_ALL=C grep ERROR app.log</code>.</li>
          </ul>
          <p>To see where the odd bytes are:</p>
          <pre><code>grep -naP '[\x00-\x08\x0e-\x1f]' app.log | cat -v | head
          </code></pre>
          <p><code>cat -v</code> shows control characters in caret notation, so a NUL appears as <code>^@</code> and the record separator 0x1E as <code>^^</code>.</p>
          <p>To clean a copy of the file, <code>tr</code> can delete the control characters while keeping tabs and newlines:</p>
          <pre><code>tr -d '\000-\010\016-\037' &lt; app.log &gt; app.clean.log
          </code></pre>
          <p>The real fix is usually in the program writing the log: a NUL often comes from writing a whole fixed-size buffer, or a C string together with its terminator.</p>
          """),
          a(4, 80, r"""
          <p>Use <code>grep -a</code>.</p>
          """),
          accepted=0)
    # 2024-07 dumps: character references that XML 1.0 forbids, inside a Body.
    binary_log.body = binary_log.body.replace("[RS]", "\x1e").replace("[NUL]", "\x00")

    posts = [
        q(205, "2012-04-11 22:03", 280, 310500, 12,
          "How can a command keep running after logging out of an SSH session?",
          "ssh process nohup", r"""
          <p>I start long database imports on a remote server over SSH. If my connection drops or I close the laptop, the import is killed. How can I start a command so that it survives the end of the session?</p>
          """,
          a(301, 7, r"""
          <p>When an SSH session ends, the shell receives <code>SIGHUP</code> and passes it on to its jobs, whose default reaction is to terminate. There are several ways around that, depending on whether the job is already running and whether it needs to be interactive later.</p>
          <h2>Start it immune to hangups: <code>nohup</code></h2>
          <pre><code>nohup ./import.sh &gt; import.log 2&gt;&amp;1 &amp;
          </code></pre>
          <p><code>nohup</code> sets <code>SIGHUP</code> to be ignored before executing the command. Redirect the output explicitly; otherwise it goes to <code>nohup.out</code> in the current directory.</p>
          <h2>Detach a job that is already running: <code>disown</code></h2>
          <p>In bash and zsh, suspend the job with <kbd>Ctrl</kbd>+<kbd>Z</kbd>, resume it in the background and remove it from the shell's job table:</p>
          <pre><code>^Z
          bg
          disown -h %1
          </code></pre>
          <p>With <code>-h</code> the job stays in the table but the shell does not send it <code>SIGHUP</code>. The job still writes to the old terminal, and those writes fail once the session is gone, so this works best for programs that log to a file.</p>
          <h2>Keep a terminal to come back to: <code>tmux</code> or <code>screen</code></h2>
          <p>A terminal multiplexer runs a server process that owns the terminal, so the session survives the disconnect and can be reattached later:</p>
          <pre><code>tmux new -s import      # start a named session and run the command inside
          # detach with Ctrl-b d, log out, and later:
          tmux attach -t import
          </code></pre>
          <p>For long or interactive jobs this is usually the most convenient option, because the progress output stays visible.</p>
          <h2>On systemd machines</h2>
          <ul>
          <li><code>systemd-run --user --unit=import ./import.sh</code> runs the command as a transient unit, outside the login session, with its output in the journal (<code>journalctl --user -u import</code>).</li>
          <li>If <code>KillUserProcesses=yes</code> is set in <code>logind.conf</code>, processes left behind by a session are killed regardless of <code>nohup</code>; a transient unit or <code>loginctl enable-linger</code> avoids that.</li>
          </ul>
          """, thread=(
              ("asker", "Does nohup also protect the job if the server reboots?"),
              ("answerer", "No, a reboot ends every process. For that you need a service unit, or a scheduler that restarts the job."),
              ("asker", "Makes sense, thanks. tmux it is."))),
          a(45, 19, r"""
          <p>Use <code>screen</code>. Start it, run the command, press <kbd>Ctrl</kbd>+<kbd>A</kbd> <kbd>D</kbd> to detach, and <code>screen -r</code> to get back.</p>
          """),
          a(12, 26, r"""
          <p><code>setsid ./import.sh &amp;</code> starts the command in a new session with no controlling terminal, so it never receives the hangup.</p>
          """),
          accepted=0),

        q(212, "2012-07-02 08:44", 190, 204000, 15,
          "What is the difference between a hard link and a symbolic link?",
          "links filesystems inode", r"""
          <p><code>ln</code> and <code>ln -s</code> both seem to create a second name for a file. What is the actual difference, and when should each be used?</p>
          """,
          a(215, 33, r"""
          <p>Underneath, a file's data and metadata live in an <strong>inode</strong>; a directory entry is just a name pointing to an inode number. The two kinds of links differ in what they point to.</p>
          <h2>Hard link</h2>
          <p>A hard link is a second directory entry pointing to the <em>same inode</em>. Neither name is the "original": both are equally real, and the data is freed only when the last name is removed and no process has the file open. <code>ls -l</code> shows the number of names in its second column.</p>
          <pre><code>$ echo hello &gt; a
          $ ln a b
          $ ls -li a b
          1837464 -rw-r--r-- 2 alice alice 6 Mar  1 10:00 a
          1837464 -rw-r--r-- 2 alice alice 6 Mar  1 10:00 b
          </code></pre>
          <p>Restrictions follow from the design:</p>
          <ul>
          <li>a hard link must be on the same filesystem, because inode numbers are only unique within one filesystem;</li>
          <li>hard links to directories are not allowed, since they would create loops in the tree.</li>
          </ul>
          <h2>Symbolic link</h2>
          <p>A symlink is a small separate file whose content is a <em>path</em>. The kernel follows that path whenever the link is opened.</p>
          <pre><code>$ ln -s /var/log/syslog current
          $ ls -l current
          lrwxrwxrwx 1 alice alice 15 Mar  1 10:01 current -&gt; /var/log/syslog
          </code></pre>
          <ul>
          <li>it can point across filesystems and to directories;</li>
          <li>it can dangle: remove or rename the target and the link points at nothing;</li>
          <li>a relative target is resolved from the link's own directory, not from the current directory.</li>
          </ul>
          <h2>Which one to use</h2>
          <p>For everyday purposes – shortcuts, switching between versions of a program, pointing a configuration path elsewhere – I would pick a symlink, because its target is visible and obvious. Hard links shine in backups with deduplication (<code>rsync --link-dest</code>, <code>cp -al</code>), where identical files in successive snapshots share storage.</p>
          """, _allow_i=1),
          a(30, 40, r"""
          <p>A hard link is another name for the same inode; a soft link is a file containing a path. Delete the original and the hard link still works, the soft link breaks.</p>
          """),
          accepted=0),

        q(219, "2013-01-20 15:30", 75, 98200, 18,
          "How can files larger than a given size be found with find?",
          "find disk-usage files", r"""
          <p>The disk on a server is almost full. How do I list all files over, say, 100 MB, ideally sorted by size?</p>
          """,
          a(88, 33, r"""
          <p>GNU and BSD <code>find</code> both support <code>-size</code> with a unit suffix and a sign:</p>
          <pre><code>find /var -type f -size +100M
          </code></pre>
          <ul>
          <li><code>+100M</code> means <em>more than</em> 100 MiB, <code>-100M</code> less than, and <code>100M</code> exactly (after rounding, see below).</li>
          <li>Suffixes: <code>c</code> bytes, <code>k</code> KiB, <code>M</code> MiB, <code>G</code> GiB. Without a suffix the unit is 512-byte blocks, a frequent source of surprises.</li>
          </ul>
          <h2>The rounding trap</h2>
          <p>The size is rounded <strong>up</strong> to whole units before the comparison. A 1.5 MiB file counts as 2 MiB, and <code>-size -1M</code> matches only empty files, because anything with at least one byte rounds up to 1. For exact thresholds, use bytes:</p>
          <pre><code>find . -type f -size +1048576c      # strictly larger than 1 MiB
          </code></pre>
          <h2>Sorting the results by size</h2>
          <p>With GNU find, print the size and sort numerically:</p>
          <pre><code>find / -xdev -type f -size +100M -printf '%s\t%p\n' 2&gt;/dev/null |
            sort -rn | head -20
          </code></pre>
          <p><code>-xdev</code> keeps the search on one filesystem, so it does not wander into <code>/proc</code> or network mounts, and <code>2&gt;/dev/null</code> hides the permission errors. On BSD and macOS there is no <code>-printf</code>; use <code>-exec</code> instead:</p>
          <pre><code>find / -xdev -type f -size +100M -exec ls -lh {} + 2&gt;/dev/null
          </code></pre>
          <p>When the goal is to find out what fills a disk, <code>du</code> often answers faster because it sums whole directories: <code>du -xh / | sort -rh | head</code>. Interactive tools such as <a href="https://dev.yorhel.nl/ncdu" rel="nofollow noreferrer">ncdu</a> do the same with a browsable interface.</p>
          """),
          a(14, 50, r"""
          <pre><code>find / -size +100M -ls
          </code></pre>
          """),
          a(3, 57, r"""
          <p>Try <code>ncdu</code>, it is much nicer.</p>
          """),
          accepted=0),

        q(226, "2014-05-05 06:15", 55, 67000, 21,
          "Why do shell scripts run fine in a terminal but fail under cron?",
          "cron shell-script environment-variables", r"""
          <p>A backup script works perfectly when I run it by hand, but the cron job does nothing, or fails halfway. Why does cron behave differently?</p>
          """,
          a(61, 7, r"""
          <p>Cron runs jobs in a very different environment from an interactive login shell. Nearly every "works by hand, fails from cron" problem comes down to one of these differences:</p>
          <ol>
          <li><p><strong>A minimal <code>PATH</code>.</strong> Cron typically sets <code>PATH=/usr/bin:/bin</code>. Anything in <code>/usr/local/bin</code>, <code>/sbin</code> or a version manager's directory is not found. Use absolute paths, or set <code>PATH</code> at the top of the crontab:</p>
          <pre><code>PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin
          </code></pre></li>
          <li><p><strong>No profile or rc files.</strong> <code>~/.bashrc</code> and <code>~/.profile</code> are not read, so variables and aliases defined there do not exist.</p></li>
          <li><p><strong><code>/bin/sh</code>, not bash.</strong> Commands written directly in the crontab run under <code>sh</code>, which may be dash; bash-only syntax such as <code>[[ ]]</code> or <code>{1..5}</code> fails. Give the script a <code>#!/bin/bash</code> line and make it executable.</p></li>
          <li><p><strong>A different working directory</strong>, usually the home directory. Relative paths inside the script break; <code>cd "$(dirname "$0")"</code> at the top fixes that.</p></li>
          <li><p><strong>Percent signs.</strong> In a crontab line an unescaped <code>%</code> becomes a newline, so <code>date +%F</code> must be written <code>date +\%F</code>.</p></li>
          <li><p><strong>No terminal and no display.</strong> Programs that expect a TTY or an X display fail or behave differently.</p></li>
          </ol>
          <p>The quickest way to see what goes wrong is to capture the output, which cron otherwise mails to the local user, where nobody reads it:</p>
          <pre><code>*/5 * * * * /home/alice/bin/job.sh &gt;&gt; /tmp/job.log 2&gt;&amp;1
          </code></pre>
          <p>Comparing the output of <code>env</code> run from cron with the one from a terminal usually reveals the culprit at once.</p>
          """),
          a(9, 44, r"""
          <p>Probably the PATH. Use full paths to every command in the script.</p>
          """),
          accepted=0),

        q(233, "2015-08-19 11:11", 33, 41000, 24,
          "How can the exit status of the first command in a pipeline be retrieved in bash?",
          "bash pipe exit-status", r"""
          <p>In <code>make 2&gt;&amp;1 | tee build.log</code> the exit status is always 0, because <code>tee</code> succeeds. How do I get the status of <code>make</code>?</p>
          """,
          a(39, 33, r"""
          <p>By default the exit status of a pipeline is that of its <strong>last</strong> command, so in <code>false | true</code> the failure is lost. Bash has two ways to get it back.</p>
          <h2>The <code>PIPESTATUS</code> array</h2>
          <p>Right after a pipeline, <code>PIPESTATUS</code> holds the exit status of every command in it, in order:</p>
          <pre><code>grep pattern file.txt | sort | uniq -c
          echo "${PIPESTATUS[@]}"          # e.g. 1 0 0
          </code></pre>
          <p>The array is overwritten by the very next command, including a plain <code>echo</code> or a test, so copy what is needed immediately: <code>st=("${PIPESTATUS[@]}")</code>.</p>
          <h2>The <code>pipefail</code> option</h2>
          <pre><code>set -o pipefail
          if ! curl -fsS "$url" | tar xz; then
              echo "I could not download or unpack $url" &gt;&amp;2
              exit 1
          fi
          </code></pre>
          <p>With <code>pipefail</code> set, the status of the pipeline is that of the <em>rightmost command that failed</em>, or zero if all succeeded. This is usually what scripts want, and it combines well with <code>set -e</code>.</p>
          <p>One caveat: a command killed by <code>SIGPIPE</code> because a later command stopped reading early – <code>yes | head -1</code>, or <code>grep -q</code> at the end – reports status 141, which <code>pipefail</code> treats as a failure.</p>
          <h2>Portable <code>sh</code></h2>
          <p>Many <code>sh</code> implementations lack <code>pipefail</code>. A portable workaround passes the status out through an extra file descriptor:</p>
          <pre><code>exec 4&gt;&amp;1
          status=$( { { make; echo $? &gt;&amp;3; } | tee build.log &gt;&amp;4; } 3&gt;&amp;1 )
          </code></pre>
          <p>zsh offers the same information as <code>$pipestatus</code> (lower case); ksh93 and mksh support <code>pipefail</code>.</p>
          """, thread=(
              ("asker", "Is PIPESTATUS also set inside a command substitution?"),
              ("answerer", "Each shell has its own copy. Inside $( ) it reflects the pipelines run in that subshell, and the outer one is not touched."),
              ("asker", "Thanks, pipefail plus set -e does what I need."))),
          a(8, 51, r"""
          <p><code>set -o pipefail</code> at the top of the script.</p>
          """),
          accepted=0),

        q(240, "2013-06-06 09:27", 140, 180000, 30, "What does 2>&1 mean in a shell redirection?",
          "shell io-redirection stderr", r"""
          <p>Lots of scripts end commands with <code>&gt; /dev/null 2&gt;&amp;1</code>. What does the <code>2&gt;&amp;1</code> part do, and why the ampersand?</p>
          """,
          a(160, 7, r"""
          <p>Every process starts with three open file descriptors: 0 is standard input, 1 standard output and 2 standard error. <code>2&gt;&amp;1</code> means "make file descriptor 2 a copy of whatever file descriptor 1 currently points to".</p>
          <ul>
          <li><code>2&gt;</code> redirects descriptor 2;</li>
          <li>the <code>&amp;</code> says that what follows is a descriptor number, not a file name (without it, <code>2&gt;1</code> would create a file called <code>1</code>).</li>
          </ul>
          <h2>Order matters</h2>
          <p>Redirections are processed left to right, and each one copies the current state; it is not a permanent link. Compare:</p>
          <pre><code>cmd &gt; out.log 2&gt;&amp;1    # stdout to the file, then stderr to the same place: both in out.log
          cmd 2&gt;&amp;1 &gt; out.log    # stderr to the terminal (old stdout), then stdout to the file
          </code></pre>
          <p>In the second line, descriptor 2 is duplicated while 1 still points at the terminal, so error messages keep appearing on screen.</p>
          <h2>Shortcuts and related forms</h2>
          <ul>
          <li><code>&amp;&gt; file</code> (bash, zsh) is shorthand for <code>&gt; file 2&gt;&amp;1</code>, and <code>|&amp;</code> for <code>2&gt;&amp;1 |</code>. Neither is POSIX.</li>
          <li><code>&gt;&amp;2</code> sends standard output to standard error, the usual way for a script to print an error message.</li>
          <li><code>2&gt;/dev/null</code> discards error output.</li>
          <li><code>exec 2&gt;&gt;errors.log</code> applies a redirection to the rest of the script.</li>
          </ul>
          <p>Pipes follow the same logic: the pipe is set up first, then each command's redirections. So <code>cmd 2&gt;&amp;1 | less</code> sends both streams into <code>less</code>, while <code>cmd | less 2&gt;&amp;1</code> affects only the errors of <code>less</code> itself.</p>
          <p>The POSIX shell specification describes all of these in its <a href="https://pubs.opengroup.org/onlinepubs/9699919799/utilities/V3_chap02.html#tag_18_07" rel="nofollow noreferrer">Redirection</a> section; the bash manual has a readable summary under REDIRECTION.</p>
          """),
          a(25, 60, r"""
          <p>It sends stderr to wherever stdout goes. The <code>&amp;</code> marks <code>1</code> as a file descriptor rather than a file name.</p>
          """),
          accepted=0),

        q(247, "2016-10-12 18:05", 18, 22000, 36, "Why is parsing the output of ls considered a bad idea?",
          "ls shell-script filenames", r"""
          <p>Scripts like <code>for f in $(ls); do ...</code> are everywhere, but people keep saying not to parse <code>ls</code>. Why not?</p>
          """,
          a(20, 33, r"""
          <p><code>ls</code> is designed to show file names to a human. Its output is a lossy rendering of the directory, and scripts that split it into words break on names that are perfectly legal.</p>
          <p>A Unix file name may contain any byte except <code>/</code> and NUL, including spaces, tabs, newlines, glob characters like <code>*</code> and leading dashes. Consider:</p>
          <pre><code>$ touch 'monthly report.pdf' $'two\nlines.txt'
          $ for f in $(ls); do echo "[$f]"; done
          [monthly]
          [report.pdf]
          [two]
          [lines.txt]
          </code></pre>
          <p>Four "files", none of which exist. Further problems:</p>
          <ul>
          <li>GNU <code>ls</code> replaces non-printable characters with <code>?</code> when writing to a terminal, and may quote names depending on the version and environment;</li>
          <li>the word splitting in <code>$(ls)</code> is followed by glob expansion, so a file called <code>*</code> expands to everything;</li>
          <li>the format of <code>ls -l</code> varies between systems and locales, dates especially, so cutting fields out of it is fragile.</li>
          </ul>
          <h2>What to use instead</h2>
          <p>The shell itself lists files safely with a glob, which never splits names:</p>
          <pre><code>for f in ./*; do
              [ -e "$f" ] || continue     # no match: the pattern stays literal
              printf '%s\n' "$f"
          done
          </code></pre>
          <p>For recursion or filtering use <code>find</code>, with <code>-exec</code> or with NUL-separated output:</p>
          <pre><code>find . -type f -name '*.log' -print0 | xargs -0 gzip
          </code></pre>
          <p>For metadata, <code>stat</code> with a format string gives exact values. <code>ls</code> remains the right tool for looking at a directory; it just is not an interface for other programs.</p>
          """),
          a(6, 64, r"""
          <p>Spaces in file names. Use globs.</p>
          """),
          accepted=0),

        binary_log,

        # ---- drop cases ----
        q(261, "2013-03-01 12:00", 60, 52000, 48,
          "What are the most useful shell one-liners for everyday administration?",
          "shell command-line", r"""
          <p>Collecting small commands that save time every day. One per answer, please.</p>
          """,
          a(72, 7, r"""
          <p>A collection of small commands worth keeping in muscle memory:</p>
          <ul>
          <li><p>Show what is listening on which port:</p>
          <pre><code>ss -tlnp
          </code></pre></li>
          <li><p>Disk usage of the largest directories on one filesystem:</p>
          <pre><code>du -xh / 2&gt;/dev/null | sort -rh | head -20
          </code></pre></li>
          <li><p>Follow a log and highlight a word:</p>
          <pre><code>tail -F /var/log/syslog | grep --line-buffered --color=always -i error
          </code></pre></li>
          <li><p>Run the previous command again with sudo: <code>sudo !!</code></p></li>
          <li><p>Find which package owns a file: <code>dpkg -S /usr/bin/ssh</code> on Debian, <code>rpm -qf /usr/bin/ssh</code> on Red Hat.</p></li>
          <li><p>Serve the current directory over HTTP: <code>python3 -m http.server 8000</code></p></li>
          <li><p>Compare two directory trees: <code>diff -rq dir1 dir2</code></p></li>
          <li><p>Repeat a command every two seconds and highlight changes: <code>watch -d 'ls -l /var/spool'</code></p></li>
          <li><p>Show the processes using the most memory: <code>ps aux --sort=-%mem | head</code></p></li>
          <li><p>Copy a directory to another host with progress: <code>rsync -avP dir/ host:/backup/dir/</code></p></li>
          <li><p>See which files a process has open: <code>lsof -p 1234</code></p></li>
          </ul>
          """),
          a(31, 19, r"""
          <p><code>Ctrl-R</code> in bash to search the history. Nothing else saves as much typing.</p>
          """),
          expect="community_wiki", CommunityOwnedDate="2013-03-01T12:00:00.000"),

        q(268, "2017-05-21 23:40", 25, 3100, 55, "Help with my crontab", "cron", r"""
          <p>My crontab line <code>0 2 * * * backup.sh</code> never runs. The script works when I start it myself. What am I missing?</p>
          """,
          a(13, 7, r"""
          <p>Cron does not search the current directory or the user's usual <code>PATH</code>, so a bare <code>backup.sh</code> is looked up in <code>/usr/bin:/bin</code> only and never found. Give the full path:</p>
          <pre><code>0 2 * * * /home/alice/bin/backup.sh
          </code></pre>
          <p>Then check the other usual suspects:</p>
          <ol>
          <li>The script must be executable (<code>chmod +x</code>) and start with a shebang line such as <code>#!/bin/sh</code>, or the line must call the interpreter explicitly: <code>/bin/sh /home/alice/bin/backup.sh</code>.</li>
          <li>The crontab must end with a newline; some cron implementations ignore a last line without one.</li>
          <li>The cron daemon must be running: <code>systemctl status cron</code> (or <code>crond</code> on Red Hat systems).</li>
          <li>Time zone: cron uses the system time zone, which on servers is often UTC, so 2 a.m. may not be the 2 a.m. expected.</li>
          </ol>
          <p>To see whether the job starts at all, look in the system log (<code>grep CRON /var/log/syslog</code> or <code>journalctl -u cron</code>), and capture the job's own output by appending <code>&gt;&gt; /tmp/backup.log 2&gt;&amp;1</code> to the line. An error message there usually names the problem directly.</p>
          """),
          a(2, 70, r"""
          <p>Did you run <code>crontab -e</code> as the right user?</p>
          """),
          expect="title"),

        q(275, "2018-09-09 10:10", 44, 29000, 58,
          "Why does sudo not find programs installed in /usr/local/bin?",
          "sudo path", r"""
          <p>A program installed to <code>/usr/local/bin</code> runs fine, but <code>sudo prog</code> says <code>command not found</code>. Why?</p>
          """,
          a(50, 62, r"""
          <p><code>sudo</code> does not use the caller's <code>PATH</code>. With the default <code>secure_path</code> option in <code>/etc/sudoers</code>, it replaces the search path with a fixed list, and on some distributions that list does not include <code>/usr/local/bin</code>:</p>
          <pre><code>Defaults    secure_path = /sbin:/bin:/usr/sbin:/usr/bin
          </code></pre>
          <p>The point is security: if sudo honoured the user's <code>PATH</code>, anyone able to write to a directory early in that path could plant a program called <code>ls</code> or <code>apt</code> and have it run as root by accident.</p>
          <h2>Fixes</h2>
          <ul>
          <li>Call the program by its full path: <code>sudo /usr/local/bin/prog</code>.</li>
          <li>Add the directory to <code>secure_path</code>, editing with <code>visudo</code> (never directly), preferably in a drop-in file such as <code>/etc/sudoers.d/path</code>.</li>
          <li>Avoid <code>sudo env PATH="$PATH" prog</code> as a habit; it re-opens the hole that <code>secure_path</code> closes.</li>
          </ul>
          <p>The same behaviour explains why <code>sudo</code> does not see aliases or shell functions: it executes a program directly, without running the caller's shell. There is a long discussion of the trade-offs on Unix &amp; Linux Stack Exchange, and the sudoers manual documents the option under <code>secure_path</code>.</p>
          """),
          a(12, 73, r"""
          <p>Check <code>sudo -l</code> and look for <code>secure_path</code>.</p>
          """),
          expect="refers_to_others"),

        q(282, "2020-01-30 16:45", 2, 800, 66, "Which terminal emulators support font ligatures?",
          "terminal-emulator fonts", r"""
          <p>Looking for a Linux terminal that renders ligatures of fonts like Fira Code.</p>
          """,
          a(3, 75, r"""
          <p>Kitty and WezTerm do. Konsole too, in recent versions.</p>
          """),
          a(1, 76, r"""
          <p>GNOME Terminal does not.</p>
          """),
          expect="answer_score,answer_short"),

        row(Id=290, PostTypeId=5, CreationDate="2012-03-01T00:00:00.000", Score=0, Body=h(r"""
            <p>A pipe connects the standard output of one process to the standard input of another, written <code>cmd1 | cmd2</code> in the shell.</p>
            """), OwnerUserId=7, LastActivityDate="2012-03-01T00:00:00.000", CommentCount=0,
            ContentLicense="CC BY-SA 3.0"),
        row(Id=291, PostTypeId=4, CreationDate="2012-03-01T00:00:00.000", Score=0,
            Body="Questions about pipes and pipelines between processes.", OwnerUserId=7,
            LastActivityDate="2012-03-01T00:00:00.000", CommentCount=0, ContentLicense="CC BY-SA 3.0"),
    ]
    comments = [
        (205, 19, "screen works too, and is installed almost everywhere.", 5),
        (240, 12, "Worth reading alongside the bash manual's REDIRECTION section.", 2),
        (268, 7, "Please edit the title to describe the problem.", 1),
    ]
    return Site("unix.stackexchange.com", "stem", posts, comments, pipe_tags=True,
                licence_comment=True, crlf=True)


# ==== cooking.stackexchange.com (Other): <a><b> tags, BOM, no newline at the end ===================

def cooking() -> Site:
    posts = [
        q(3, "2011-02-14 19:30", 210, 120000, 5, "Does searing meat really seal in the juices?",
          "meat searing food-science", r"""
          <p>Every recipe for steak or roasts tells me to sear the meat first "to seal in the juices". Is there any truth to that?</p>
          """,
          a(230, 9, r"""
          <p>No. The idea that a hot sear "seals" the surface of meat and keeps moisture in goes back to the 19th-century chemist Justus von Liebig, and it has been tested and disproved many times since the 1930s.</p>
          <p>The simplest test is to weigh steaks of the same cut and thickness before and after cooking them to the same internal temperature, one seared first and one not. Seared steaks lose as much weight as unseared ones, often slightly more, because the surface spent time at a higher temperature. The sizzling in the pan is itself water leaving the meat; a seal would stop it.</p>
          <h2>What actually controls juiciness</h2>
          <ul>
          <li><strong>Final internal temperature.</strong> Muscle proteins contract and squeeze out water as they heat, and the loss speeds up above about 60 °C. Cooking to a lower temperature matters far more than any technique.</li>
          <li><strong>Carry-over and resting.</strong> The temperature keeps rising for a few minutes off the heat, so pull the meat slightly early. A short rest lets the juices thicken and redistribute, so less runs out onto the board when cutting.</li>
          <li><strong>Salt</strong> applied well ahead (an hour or more, or overnight) dissolves some of the muscle proteins so they hold water better.</li>
          <li><strong>Fat and collagen</strong> in the cut give an impression of juiciness independent of the water content.</li>
          </ul>
          <h2>Why sear anyway</h2>
          <p>Searing is worth doing for <em>flavour</em>, not moisture. Above roughly 140 °C the Maillard reaction between amino acids and sugars produces hundreds of aroma compounds and the brown crust everyone likes. Many cooks now sear at the end instead (a "reverse sear"): cook gently in a low oven to the target temperature, then brown quickly in a very hot pan. That gives an even interior with only a thin grey band, and a crust that is still crisp when served.</p>
          """),
          a(40, 14, r"""
          <p>It is a myth. Harold McGee covers it in <em>On Food and Cooking</em>; searing is for flavour.</p>
          """),
          accepted=0),

        q(10, "2012-08-05 12:20", 95, 88000, 17,
          "How long can cooked rice safely be kept at room temperature?",
          "rice food-safety storage-lifetime", r"""
          <p>I often cook rice in the morning and leave the pot on the stove until dinner. Is that safe?</p>
          """,
          a(105, 9, r"""
          <p>Cooked rice should not stay at room temperature for more than about <strong>one hour</strong> before being eaten or chilled, and food-safety agencies put the absolute limit at two hours (one hour above 32 °C). A pot left from morning to evening is well past that.</p>
          <p>The concern with rice is specific: <em>Bacillus cereus</em>. Its spores are common on raw rice and survive boiling. When cooked rice cools slowly through the range of about 10–50 °C, the spores germinate and the bacteria multiply, and some strains produce a toxin that is <strong>heat-stable</strong>. Reheating kills the bacteria but does not destroy the toxin, so rice left out all day and then fried or microwaved until piping hot can still cause vomiting within a few hours.</p>
          <h2>Safe handling</h2>
          <ol>
          <li>Eat rice soon after cooking, or cool it quickly: spread it out on a tray or split it into shallow containers rather than leaving a deep pot to cool.</li>
          <li>Refrigerate at 5 °C or below within an hour.</li>
          <li>Use refrigerated rice within a day or so, and reheat it only once, until steaming hot throughout.</li>
          <li>Keeping rice hot is fine: on the warm setting of a rice cooker it stays above 63 °C, too hot for growth.</li>
          </ol>
          <p>Fried rice recipes call for day-old rice because it is drier and the grains separate; that should be leftover rice that went into the fridge promptly, not rice that sat on the counter.</p>
          <p>The UK Food Standards Agency and the USDA both publish guidance on the "danger zone" between about 5 °C and 60 °C, for example the USDA's page on <a href="https://www.fsis.usda.gov/food-safety/safe-food-handling-and-preparation/food-safety-basics/danger-zone-40f-140f" rel="nofollow noreferrer">the danger zone</a>.</p>
          """, thread=(
              ("asker", "What about rice kept warm in the rice cooker for a whole day, is that still safe?"),
              ("answerer", "Safe as long as it stays hot, though texture and flavour suffer after about 12 hours."),
              ("asker", "Good to know, I will switch to the warm setting."))),
          a(20, 22, r"""
          <p>I leave mine out all the time and have never been sick, but my mother always put it in the fridge straight away.</p>
          """),
          accepted=0),

        q(16, "2013-04-12 16:00", 70, 45000, 25,
          "Why do recipes call for unsalted butter and then add salt separately?",
          "butter salt baking", r"""
          <p>Most baking recipes ask for unsalted butter and then list salt as a separate ingredient. Why not use salted butter and skip the salt?</p>
          """,
          a(82, 29, r"""
          <p>Mostly for control. The amount of salt in salted butter is not standardised: it varies between brands and countries, from about 1.2 % to over 2 % by weight. A recipe that relies on salted butter cannot know how much salt the reader's butter contains, so "unsalted butter plus ¾ teaspoon salt" gives the same result everywhere.</p>
          <p>The amounts add up quickly. Half a pound (227 g) of butter at 1.5 % salt carries about 3.4 g of salt, a bit more than half a teaspoon of table salt. In cookies or a pie crust that is the difference between well seasoned and noticeably salty.</p>
          <h2>Other reasons</h2>
          <ul>
          <li><strong>Freshness.</strong> Salt is a preservative and masks off flavours, so salted butter can sit longer in the shop. Unsalted butter has to be sold fresher, and its flavour is easier to judge.</li>
          <li><strong>Water content.</strong> Some salted butters contain slightly more water, which matters in laminated doughs and some pastries.</li>
          <li><strong>Sweet applications.</strong> Buttercream, caramel and some custards need the clean flavour of unsalted butter, with any salt added to taste at the end.</li>
          </ul>
          <h2>Substituting</h2>
          <p>If only salted butter is available, use it and reduce the added salt by about ¼ teaspoon per 115 g stick (roughly 2 g per 100 g of butter). In bread, where salt also controls yeast activity, the correction matters; in most cookies and cakes the difference is small enough to ignore.</p>
          """),
          a(11, 33, r"""
          <p>Salt content varies by brand, so unsalted butter lets the recipe control the seasoning.</p>
          """),
          # A malformed row: an answer without an Id (a counted skip).
          a(2, 34, r"""
          <p>Salted butter is fine for most things.</p>
          """, no_id=True, _order=16.5),
          accepted=0),

        q(23, "2011-07-19 10:45", 160, 230000, 31,
          "What is the difference between baking soda and baking powder?",
          "baking leavening chemistry", r"""
          <p>Some recipes use baking soda, some baking powder, some both. Can they be swapped?</p>
          """,
          a(175, 9, r"""
          <p><strong>Baking soda</strong> is pure sodium bicarbonate (NaHCO<sub>3</sub>), a base. It releases carbon dioxide only when it meets an acid in the batter: buttermilk, yogurt, brown sugar, honey, natural cocoa, lemon juice or vinegar.</p>
          <pre><code>NaHCO3 + H⁺  →  Na⁺ + H2O + CO2
          </code></pre>
          <p><strong>Baking powder</strong> is baking soda already mixed with one or more dry acids (cream of tartar, sodium aluminium phosphate, monocalcium phosphate) plus starch to keep it dry. It contains everything it needs, so it leavens a batter with no acidic ingredients. Most supermarket baking powder is <em>double-acting</em>:</p>
          <ol>
          <li>a fast acid reacts as soon as the powder gets wet, producing some gas during mixing;</li>
          <li>a slow acid reacts only when heated in the oven, giving a second rise while the structure sets.</li>
          </ol>
          <h2>Strength and substitution</h2>
          <p>Baking soda is roughly three to four times as strong as baking powder by weight, since baking powder is mostly acid and starch. Approximate conversions:</p>
          <ul>
          <li>1 tsp baking powder ≈ ¼ tsp baking soda + ½ tsp cream of tartar</li>
          <li>replacing soda with powder takes about three times as much, and the acid in the recipe stays unneutralised, so the result tastes tangier</li>
          </ul>
          <h2>Why some recipes use both</h2>
          <p>The soda neutralises the acidic ingredients, which also affects browning and taste (a more alkaline batter browns faster and tastes less sour), while the powder provides most of the lift. Too much soda leaves a soapy, metallic taste and a yellowish crumb; too little leaves a dense, sour cake.</p>
          <p>A quick freshness check: a little baking powder in hot water should fizz vigorously; baking soda should fizz in vinegar.</p>
          """),
          a(30, 38, r"""
          <p>Soda needs an acid in the recipe, powder brings its own. Swap 1 tsp powder for ¼ tsp soda plus some acid.</p>
          """),
          a(5, 39, r"""
          <p>Powder = soda + acid.</p>
          """),
          accepted=0),

        q(30, "2014-06-22 08:10", 30, 26000, 37,
          "How can fresh basil be stored so the leaves do not turn black?",
          "herbs storage-method basil", r"""
          <p>Basil from the supermarket turns black and slimy in the fridge within two days. What is the best way to keep it?</p>
          """,
          a(34, 29, r"""
          <p>Basil is a tropical herb and is damaged by cold. Below about 10 °C the cell membranes in the leaves break down, and the leaves turn black and slimy within a day or two. That is why the usual advice for herbs, wrapping them in a damp paper towel in the fridge, works badly for basil.</p>
          <h2>Short term: treat it like cut flowers</h2>
          <ol>
          <li>Trim the ends of the stems.</li>
          <li>Stand the bunch in a glass with a few centimetres of water.</li>
          <li>Cover the leaves loosely with a plastic bag to keep the humidity up.</li>
          <li>Keep it on the counter away from direct sun, and change the water every day or two.</li>
          </ol>
          <p>Kept this way, basil stays fresh for about a week and sometimes even grows roots. A test-kitchen write-up that is often quoted puts it well:</p>
          <blockquote>
          <p>I have never had basil last as long in the fridge as it does in a jar of water on the counter, and the bruised leaves always go first.</p>
          </blockquote>
          <h2>Handling</h2>
          <ul>
          <li>Bruised or wet leaves blacken fastest, so handle the bunch gently and make sure the leaves are dry.</li>
          <li>Tear or cut basil just before use; cut surfaces darken quickly.</li>
          </ul>
          <h2>Long term</h2>
          <p>For months of storage, blanch the leaves for a few seconds, cool them in iced water, dry them and freeze them flat in a bag, or blend them with olive oil and freeze the paste in ice cube trays. Blanching inactivates the enzymes responsible for browning, so the colour stays bright green. Dried basil keeps, but it loses most of the aroma of the fresh herb.</p>
          """, thread=(
              ("asker", "Does the jar trick work for coriander and parsley too?"),
              ("answerer", "Yes for both, and those two also do well in the fridge in the jar; basil is the one that must stay out."),
              ("asker", "Perfect, thanks!"))),
          a(7, 41, r"""
          <p>I freeze mine in olive oil, works great.</p>
          """),
          accepted=0),

        q(37, "2015-10-10 20:00", 14, 9800, None, "Why is salt added to the water for cooking pasta?",
          "pasta salt", r"""
          <p>Is it about flavour, or does salt change how the pasta cooks?</p>
          """,
          a(17, 41, r"""
          <p>The main reason is <strong>seasoning</strong>. Pasta absorbs water as it cooks, and with it whatever is dissolved in the water. Salt in the cooking water ends up evenly distributed through the pasta; salt sprinkled on afterwards only sits on the sauce and the surface. Unsalted pasta tastes flat even under a well-seasoned sauce.</p>
          <h2>How much</h2>
          <p>A common guideline is about 10 g of salt per litre of water (1 %), and Italian cooks often quote "10 grams per litre, 100 grams of pasta per litre". Sea-water level (3.5 %) is far too much. The pasta absorbs only a fraction of that salt, typically a few tenths of a gram per serving, so the effect on total salt intake is modest.</p>
          <h2>Common myths</h2>
          <ul>
          <li><strong>"It makes the water boil hotter."</strong> Technically true, but 10 g per litre raises the boiling point by less than 0.2 °C, which changes nothing for cooking time.</li>
          <li><strong>"It makes the water boil faster."</strong> No; dissolved salt has practically no effect on how quickly water heats.</li>
          <li><strong>"It prevents sticking."</strong> No. Sticking is prevented by using enough water, stirring during the first minute or two, and not overcooking.</li>
          </ul>
          <h2>When to add it</h2>
          <p>Add the salt once the water is boiling or close to it. Salt dropped into cold water in a stainless steel pot can sit on the bottom and cause small pits in the metal over time (pitting corrosion); dissolved quickly in hot water it does no harm. Taste the water: it should be pleasantly salty, like a well-seasoned soup.</p>
          """),
          a(3, 42, r"""
          <p>Flavour. Nothing else.</p>
          """),
          accepted=0, OwnerDisplayName="pastalover"),

        q(44, "2016-02-27 13:13", 45, 38000, 45,
          "What causes a cast iron pan to feel sticky after seasoning?",
          "cast-iron seasoning-pans", r"""
          <p>After seasoning a pan in the oven, the surface is tacky to the touch instead of smooth and hard. What went wrong?</p>
          """,
          a(49, 49, r"""
          <p>A sticky or tacky surface after seasoning means the oil did not fully polymerise. Seasoning is a layer of oil heated until its unsaturated fatty acids cross-link into a hard, plastic-like film bonded to the iron. Anything that stops that process short leaves a gummy layer instead.</p>
          <h2>Usual causes</h2>
          <ul>
          <li><strong>Too much oil.</strong> By far the most common. Only a very thin film polymerises properly; thicker layers cure on the surface and stay soft underneath, and excess oil pools into sticky drips. Apply the oil, then wipe the pan as if trying to remove all of it.</li>
          <li><strong>Too low a temperature or too short a time.</strong> Most oils need to go past their smoke point. Bake at 230–260 °C for about an hour.</li>
          <li><strong>An oil that polymerises poorly.</strong> Oils high in saturated or monounsaturated fat (olive oil, butter, lard) cure slowly. Oils rich in polyunsaturated fats cure quickly:
          <ul>
          <li>flaxseed gives the hardest layer but tends to flake later;</li>
          <li>grapeseed, sunflower and canola are a good compromise;</li>
          <li>commercial seasoning blends are usually based on these.</li>
          </ul></li>
          </ul>
          <h2>Fixing it</h2>
          <ol>
          <li>Put the pan back in a hot oven (250 °C) upside down, with foil underneath to catch drips, for an hour. Often that finishes the cure.</li>
          <li>If it stays tacky, scrub the sticky layer off with hot water, a stiff brush and coarse salt, dry the pan on the hob, and start again with thinner coats.</li>
          <li>Build up three to five very thin coats rather than one thick one, letting the pan cool between coats.</li>
          </ol>
          <p>Cooking seasons the pan as well. Frying bacon, shallow-frying potatoes or searing meat in the first few weeks does more for a durable surface than extra oven sessions; I would avoid acidic sauces such as tomato until the layer is well established, because acid strips fresh seasoning.</p>
          """, _allow_i=1),
          a(12, 53, r"""
          <p>Too much oil. Wipe it almost all off before baking.</p>
          """),
          accepted=0),

        # ---- drop cases ----
        q(51, "2017-09-03 09:00", 20, 4100, 57, "What is wrong with this sourdough?",
          "sourdough bread", r"""
          <p>The loaf is dense at the bottom with a few big holes at the top, and the crust is pale. Photo: <img src="https://i.stack.imgur.com/s0urd.jpg" alt="cut loaf"></p>
          """,
          a(15, 29, r"""
          <p>A dense bottom layer with a few large holes near the top crust, together with a pale crust, is the classic picture of an <strong>under-proofed</strong> loaf. The gluten network was still too tight when it went into the oven, so the gas that was produced collected in a few big pockets under the crust instead of forming an even crumb.</p>
          <h2>What to change</h2>
          <ul>
          <li><strong>Longer bulk fermentation.</strong> The dough should grow by 50–75 % and feel airy and domed, with bubbles visible on the sides of the container. Time depends strongly on temperature: at 20 °C it can take twice as long as at 26 °C.</li>
          <li><strong>A more active starter.</strong> Use the starter at its peak, a few hours after feeding, when it has doubled and smells pleasantly sour rather than of acetone.</li>
          <li><strong>The poke test before baking.</strong> A floured finger pressed into the shaped loaf should leave a dent that springs back slowly and only partly.</li>
          </ul>
          <h2>The pale crust</h2>
          <p>A pale crust usually means too little steam in the first 20 minutes, or too low an oven temperature. Bake in a preheated Dutch oven with the lid on for the first part, then uncovered at about 230 °C until the crust is deep brown. Over-fermented dough can also bake pale, because the yeast and bacteria have used up the sugars that would brown, but that comes with a flat, spreading loaf rather than big holes at the top.</p>
          """),
          a(4, 61, r"""
          <p>Underproofed. Let it rise longer.</p>
          """),
          expect="title"),

        q(58, "2018-01-15 17:50", 35, 27000, 61, "Can olive oil be used for deep frying?",
          "deep-frying olive-oil", r"""
          <p>I have heard both that olive oil is unsuitable for frying and that it is traditional for frying in Spain. Which is it?</p>
          """,
          a(25, 9, r"""
          <p>Yes. Refined olive oil and "light" olive oil have smoke points around 230 °C, and even good extra virgin olive oil holds up well at normal frying temperatures of 170–180 °C, because it is rich in stable monounsaturated fats and antioxidants. Frying in olive oil is traditional around the Mediterranean.</p>
          <p>The real drawbacks are cost, since deep frying needs a lot of oil, and the flavour of extra virgin oil, which is partly lost at high heat. Refined olive oil is the sensible compromise.</p>
          """),
          a(9, 62, r"""
          <p>Yes, people in Spain do it all the time.</p>
          """),
          expect="answer_short"),

        q(65, "2018-06-03 07:30", 6, 2300, 63, "Is there a substitute for buttermilk in pancakes?",
          "substitutions pancakes buttermilk", r"""
          <p>A pancake recipe needs buttermilk and the shops are closed. Any substitute?</p>
          """,
          a(7, 29, r"""
          <p>Stir one tablespoon of lemon juice or white vinegar into a cup of milk and let it stand for ten minutes. Thinned plain yogurt works too.</p>
          """),
          a(3, 64, r"""
          <p>Kefir.</p>
          """),
          expect="answer_score,answer_short"),

        q(72, "2019-03-09 11:00", 8, 3000, 66, "How often should kitchen knives be sharpened?",
          "knives sharpening", r"""
          <p>How often do knives need proper sharpening, as opposed to honing?</p>
          """,
          a(9, 49, r"""
          <p>Hone before each use or two, sharpen on stones a few times a year for home use. If the knife no longer cuts paper cleanly after honing, it is time to sharpen.</p>
          """),
          a(2, 67, r"""
          <p>Every few months.</p>
          """),
          expect="answer_score,answer_short"),

        row(Id=70, PostTypeId=5, CreationDate="2012-01-01T00:00:00.000", Score=0, Body=h(r"""
            <p>Baking covers cooking by dry heat in an oven: breads, cakes, pastries and cookies.</p>
            """), OwnerUserId=9, LastActivityDate="2012-01-01T00:00:00.000", CommentCount=0,
            ContentLicense="CC BY-SA 3.0"),
        row(Id=71, PostTypeId=4, CreationDate="2012-01-01T00:00:00.000", Score=0,
            Body="Questions about baking in an oven.", OwnerUserId=9,
            LastActivityDate="2012-01-01T00:00:00.000", CommentCount=0, ContentLicense="CC BY-SA 3.0"),
    ]
    comments = [
        (3, 17, "Searing still tastes better though.", 6),
        (51, 29, "Could you describe the crumb in the title, so others can find the question?", 1),
        (58, 9, "Light olive oil is also much cheaper than extra virgin.", 2),
    ]
    return Site("cooking.stackexchange.com", "other", posts, comments, bom=True,
                final_newline=False)


# ==== travel.stackexchange.com (Other): |a|b| tags, licence comment, CRLF, watermark rows ==========

def travel() -> Site:
    posts = [
        q(102, "2016-03-14 21:05", 90, 52000, 11,
          "What is the difference between a Schengen airport transit visa and a short-stay visa?",
          "visas schengen transit", r"""
          <p>I am flying from Lagos to Toronto with a connection in Frankfurt. The airline says I might need an "airport transit visa". How is that different from a normal Schengen visa?</p>
          """,
          a(96, 8, r"""
          <p>Both are Schengen visas issued under the same Visa Code, but they allow very different things.</p>
          <ul>
          <li><p><strong>Airport transit visa (type A)</strong> allows only passing through the <em>international transit area</em> of a Schengen airport while changing planes. It does not allow leaving the airport, or even passing through passport control. Only nationals of a short list of countries need one, and several groups are exempt, for example holders of a valid visa or residence permit for the US, Canada, Japan or an EU/EEA country.</p></li>
          <li><p><strong>Uniform short-stay visa (type C)</strong> allows entering the Schengen area for up to 90 days in any 180-day period, for tourism, business or family visits. It also covers any transit that involves entering the territory.</p></li>
          </ul>
          <h2>When the transit visa is not enough</h2>
          <p>The deciding question is whether the journey involves passing through passport control. That happens when:</p>
          <ol>
          <li>the connection is between two Schengen airports, since the first landing in the area is the point of entry even if the final destination is outside it;</li>
          <li>the airport has no airside transit for the connection, or luggage has to be collected and checked in again (common on separate tickets);</li>
          <li>the connection involves changing airports, for example between Orly and Charles de Gaulle in Paris;</li>
          <li>the layover is overnight and the transit area closes.</li>
          </ol>
          <p>In any of these cases a traveller who needs a visa needs a type C visa, not type A.</p>
          <h2>Where to check</h2>
          <p>Annex IV of the Visa Code lists the nationalities that need an airport transit visa for every Schengen state, and individual states add their own lists. The Timatic database used by airlines, reachable through the visa tools on many airline websites, gives a quick answer for a specific itinerary, and it is what check-in staff consult when deciding whether to board a passenger.</p>
          """),
          a(14, 13, r"""
          <p>A transit visa only lets you stay airside. If you have to go through immigration at any point, you need a regular Schengen visa.</p>
          """),
          accepted=0),

        q(109, "2017-07-07 06:30", 60, 41000, 16,
          "How early should passengers arrive at the airport for an international flight?",
          "airports check-in security", r"""
          <p>Airlines say three hours, friends say one hour is plenty. What is a sensible rule?</p>
          """,
          a(64, 20, r"""
          <p>The airline's figure is a safe default, but the time needed is really the sum of a few deadlines and queues, and it varies a lot between airports.</p>
          <h2>The hard deadlines</h2>
          <ul>
          <li><strong>Check-in and bag drop close</strong> typically 45–60 minutes before departure for international flights, and some carriers close bag drop even earlier on long-haul routes. Missing that cut-off usually means missing the flight, even if the plane is still at the gate.</li>
          <li><strong>Boarding closes</strong> 15–20 minutes before departure. The gate can be a long walk or a train ride from security at large hubs.</li>
          </ul>
          <h2>The variable part</h2>
          <ol>
          <li>Security screening: from five minutes at a small airport on a weekday to over an hour at a major hub at the start of school holidays.</li>
          <li>Exit passport control, where it exists, adds another queue.</li>
          <li>Time of day: the early-morning bank of departures is often the busiest.</li>
          </ol>
          <h2>A practical rule</h2>
          <p>Work backwards from the check-in or bag-drop deadline and add the expected queue times plus a margin for the journey to the airport. With online check-in and hand luggage only, two hours before an international departure is comfortable at most airports; with bags to drop at a big hub in peak season, three hours is not excessive. Many airports publish live or typical security waiting times on their websites, which is the best single piece of information for a specific trip.</p>
          """),
          a(15, 23, r"""
          <p>Three hours for long-haul, two for short international hops. Better bored at the gate than running.</p>
          """),
          accepted=0),

        q(116, "2015-11-20 14:14", 130, 77000, 21,
          "Why are one-way flights sometimes more expensive than return tickets?",
          "airfare tickets pricing", r"""
          <p>A one-way ticket from Frankfurt to New York costs more than a return ticket on the same flights. How can that be?</p>
          """,
          a(141, 8, r"""
          <p>Airline fares are not the sum of the prices of the flights; they are products with rules attached, designed to charge different travellers different prices for the same seat.</p>
          <h2>Price discrimination</h2>
          <p>Traditional network carriers want to separate price-sensitive leisure travellers from business travellers, who book late and whose employers pay. Conditions on the cheap fares do the separating:</p>
          <ul>
          <li>a return trip is required;</li>
          <li>the stay must include a Saturday night, or last a minimum number of days;</li>
          <li>the ticket must be bought some weeks in advance.</li>
          </ul>
          <p>A one-way ticket fails the first condition, so it falls into the flexible, expensive fare classes that were built for business travel. A cheap return with an unused second half can therefore cost less.</p>
          <h2>Why not just throw away the return half?</h2>
          <p>Fare rules normally forbid it. Skipping a segment cancels all later segments of the booking, and airlines occasionally pursue repeated offenders or debit frequent-flyer accounts. Skipping the <em>last</em> segment of a return is lower-risk in practice, but it is still a breach of the conditions of carriage, and checked luggage complicates anything involving connections.</p>
          <h2>Where the pattern does not hold</h2>
          <p>Low-cost carriers and many airlines on short-haul routes price each direction separately, so there a one-way costs about half of a return. On long-haul routes of traditional airlines it is worth comparing a one-way with a return, and with two one-ways on different carriers, before booking.</p>
          """),
          a(30, 27, r"""
          <p>Because one-way passengers are assumed to be business travellers who will pay more.</p>
          """),
          a(6, 28, r"""
          <p>Airlines are weird.</p>
          """),
          accepted=0),

        q(123, "2018-10-02 09:09", 75, 39000, 27,
          "What happens if a connecting flight is missed because the first flight was delayed?",
          "air-travel missed-connection eu261", r"""
          <p>Flying Athens – Munich – Chicago. If the first flight is late and I miss the connection, do I have to buy a new ticket?</p>
          """,
          a(81, 20, r"""
          <p>It depends almost entirely on whether both flights are on the <strong>same ticket</strong> (one booking reference, bought together).</p>
          <h2>Same ticket</h2>
          <p>The connection is protected. The airline that issued the ticket is responsible for getting the passenger to the final destination, so it rebooks on the next available flight at no cost, usually automatically; the new boarding pass may be waiting at a transfer desk or in the airline's app. Checked luggage is rerouted as well. When the wait is long, the airline also has to provide meals and, if necessary, a hotel.</p>
          <h2>Separate tickets</h2>
          <p>Nobody is responsible for the connection. The second airline treats the passenger as a no-show, which may cancel the rest of that ticket as well. A new ticket is then at the passenger's expense. Travel insurance sometimes covers this, and some booking sites sell their own "connection guarantee" with varying conditions.</p>
          <h2>Compensation in the EU</h2>
          <p>Under Regulation (EC) 261/2004, a journey starting in the EU, or on an EU airline into the EU, that arrives at the <em>final destination</em> three or more hours late because of a missed connection on one ticket gives a right to compensation, unless the delay was caused by extraordinary circumstances such as severe weather:</p>
          <ul>
          <li>€250 for journeys up to 1,500 km;</li>
          <li>€400 for 1,500–3,500 km;</li>
          <li>€600 above 3,500 km (reduced by half if the arrival delay stays under four hours).</li>
          </ul>
          <p>The distance is that of the whole journey, so Athens to Chicago counts as long-haul. The regulation's text is at https://eur-lex.europa.eu/eli/reg/2004/261/oj in every EU language.</p>
          """, thread=(
              ("asker", "Does this still apply if the delayed first flight is operated by a partner airline?"),
              ("answerer", "Yes, as long as it is one ticket. The claim goes to the airline that operated the delayed flight."),
              ("asker", "Great, thank you."),
              ("answerer", "Keep the boarding passes, they help with the claim."))),
          a(9, 30, r"""
          <p>On one ticket they rebook you for free. On separate tickets you are on your own.</p>
          """),
          accepted=0),

        q(130, "2019-04-14 22:22", 40, 21000, 32, "How can jet lag be reduced when flying east?",
          "jet-lag health long-haul", r"""
          <p>Flying from California to Europe always wrecks me for days. Westbound trips are fine. Any evidence-based tips?</p>
          """,
          a(44, 36, r"""
          <p>Eastward travel is harder because the body clock has to <em>advance</em>, and it naturally prefers to run slightly longer than 24 hours, so delaying is easier than advancing. The tools that shift the clock are light, darkness, melatonin and the timing of meals and sleep.</p>
          <h2>Before the flight</h2>
          <ul>
          <li>Shift bedtime and wake-up time one hour earlier per day for two or three days before departure.</li>
          <li>Get bright light early in the morning on those days.</li>
          </ul>
          <h2>On arrival</h2>
          <ol>
          <li><strong>Time the light.</strong> For big eastward shifts (eight or nine hours), morning light at the destination can fall in the body's biological night and push the clock the wrong way. For the first two days avoid bright light in the early morning (sunglasses help) and seek it from late morning to early afternoon.</li>
          <li><strong>Melatonin</strong>, 0.5–3 mg, taken at the local bedtime for a few days, helps the clock advance and makes falling asleep easier. Regulations differ by country; in some it is prescription-only.</li>
          <li><strong>Caffeine</strong> in the morning helps alertness but should stop by early afternoon.</li>
          <li><strong>Naps</strong> of more than 20–30 minutes on the first day make the first night worse.</li>
          <li>Eat meals at local times from the first day; the digestive system has its own clocks that follow mealtimes.</li>
          </ol>
          <p>On the plane, an overnight flight is an opportunity: sleep as much as possible, with an eye mask and earplugs, and skip the meal service if it interrupts the night. Alcohol fragments sleep and is best avoided. As a rule of thumb the body clock adjusts by about one time zone per day, so a nine-hour shift takes a week or so even with everything done right.</p>
          """),
          a(10, 38, r"""
          <p>Stay awake until local bedtime on the day you arrive, no matter what.</p>
          """),
          accepted=0),

        q(144, "2015-06-01 08:00", 300, 250000, 42,
          "What are the rules for carrying liquids in hand luggage?",
          "luggage security liquids", r"""
          <p>How much shampoo, toothpaste and so on may go into cabin baggage, and what about things bought after security?</p>
          """,
          a(320, 20, r"""
          <p>Most airports in the EU, the UK, the US, Canada, Australia and many other countries follow the same basic rules:</p>
          <ul>
          <li>each container holds at most <strong>100 ml</strong> (3.4 fl oz), judged by the size printed on the container, not by how full it is;</li>
          <li>all containers fit in <strong>one transparent, resealable bag</strong> of about 1 litre (roughly 20 × 20 cm);</li>
          <li>one bag per passenger, taken out of the cabin bag at screening.</li>
          </ul>
          <p><a href="https://i.stack.imgur.com/bag01.png" rel="noreferrer"><img src="https://i.stack.imgur.com/bag01.png" alt="A clear resealable bag marked &quot;1 L&quot; holding small bottles" /></a></p>
          <p>"Liquids" is read broadly:<br>
          gels, pastes, creams, lotions, aerosols, sprays, toothpaste, mascara, soft cheese and jam all count.</p>
          <h2>Exceptions</h2>
          <ol>
          <li><strong>Medicines</strong> needed during the flight and <strong>baby food or milk</strong> for the journey may exceed 100 ml; they are screened separately, and a prescription or doctor's letter helps.</li>
          <li><strong>Duty-free purchases</strong> bought after security are allowed. On connecting flights keep them in the sealed tamper-evident bag (STEB) with the receipt, otherwise they may be confiscated at transfer screening.</li>
          </ol>
          <h2>The new scanners</h2>
          <p>Airports that have installed CT scanners can screen liquids inside the bag, and some have raised the limit to two litres per container. Because the scanners are not everywhere, the return airport may still apply the 100 ml rule, so packing to the old limit remains the safe choice.</p>
          <p>The US rules are summarised at <a href="https://www.tsa.gov/travel/security-screening/liquids-rule" rel="nofollow noreferrer">https://www.tsa.gov/travel/security-screening/liquids-rule</a>; each European airport publishes its own page.</p>
          """),
          a(41, 44, r"""
          <p>100 ml per container, all in a 1 L zip bag. Anything bigger goes in the hold.</p>
          """),
          accepted=0),

        # ---- drop cases ----
        q(151, "2021-05-18 15:00", 3, 400, 47, "Are there luggage lockers at Ljubljana railway station?",
          "luggage-storage slovenia trains", r"""
          <p>Arriving by train at 10:00 and leaving at 20:00. Is there somewhere to leave a suitcase at the station?</p>
          """,
          expect="no_answers"),

        q(158, "2019-12-01 10:30", 22, 13000, 52,
          "Can a passport with less than six months of validity be used to enter Thailand?",
          "passports thailand entry-requirements", r"""
          <p>My passport expires in five months. The airline site says six months are needed. Is that strictly enforced?</p>
          """,
          a(15, 36, r"""
          <p>As mentioned in the other answer, the six-month rule is an entry requirement of Thailand itself, not an airline invention, and it is enforced in two places.</p>
          <ol>
          <li><strong>At check-in.</strong> Airlines check passports against the Timatic database before boarding, because they have to fly inadmissible passengers back at their own cost and can be fined. Timatic lists six months of validity on arrival for Thailand, so check-in staff are likely to refuse boarding with five months.</li>
          <li><strong>At immigration</strong> in Bangkok. Officers have discretion, and reports of people admitted with slightly less validity exist, but nobody can count on it.</li>
          </ol>
          <p>The realistic options:</p>
          <ul>
          <li>renew the passport before travelling; many countries offer an expedited service taking a few days;</li>
          <li>if a second valid passport is available (dual nationals), travel on that one;</li>
          <li>check whether the embassy of Thailand in the country of residence confirms any exception in writing, and carry the letter; that is rarely granted for tourists.</li>
          </ul>
          <p>Some other countries in the region (Malaysia and Indonesia, for example) have the same six-month rule, so an itinerary that continues onwards needs checking for each country, counting from the date of each entry.</p>
          """),
          a(12, 8, r"""
          <p>Yes, it is enforced. Airlines will deny boarding. Renew first.</p>
          """),
          expect="refers_to_others"),

        q(165, "2020-02-02 20:20", -3, 900, 58, "Which is the best hotel near the Eiffel Tower?",
          "hotels paris", r"""
          <p>Looking for recommendations.</p>
          """,
          a(1, 59, r"""
          <p>Depends on the budget. Look at the 7th and 15th arrondissements.</p>
          """),
          expect="closed,answer_score,answer_short", ClosedDate="2020-02-02T21:05:33.470"),

        q(172, "2022-08-08 08:08", 4, 1500, 62, "Which side of the escalator do people stand on in Osaka?",
          "japan etiquette", r"""
          <p>Is it different from Tokyo?</p>
          """,
          a(8, 36, r"""
          <p>In Osaka people stand on the right and walk on the left, the opposite of Tokyo. Official campaigns now ask everyone to stand still on both sides.</p>
          """),
          expect="answer_score,answer_short"),

        row(Id=178, PostTypeId=6, CreationDate="2019-06-10T12:00:00.000", Score=14, Body=h(r"""
            <p>I have been active here since 2016, mostly in visa and transit questions, and would like to help with flags and review queues.</p>
            """), OwnerUserId=20, LastActivityDate="2019-06-10T12:00:00.000", CommentCount=0,
            ContentLicense="CC BY-SA 4.0"),
        row(Id=180, PostTypeId=5, CreationDate="2015-06-01T00:00:00.000", Score=0, Body=h(r"""
            <p>Visas are permissions to enter, stay in or pass through a country, issued before travel or on arrival.</p>
            """), OwnerUserId=8, LastActivityDate="2015-06-01T00:00:00.000", CommentCount=0,
            ContentLicense="CC BY-SA 3.0"),
        row(Id=181, PostTypeId=4, CreationDate="2015-06-01T00:00:00.000", Score=0,
            Body="Questions about visa requirements and applications.", OwnerUserId=8,
            LastActivityDate="2015-06-01T00:00:00.000", CommentCount=0, ContentLicense="CC BY-SA 3.0"),

        # The 2025-06-30 dumps' fabricated watermark rows: well-formed and on topic, so only
        # their Id (>= 1,000,000,000) gives them away.
        q(1000000001, "2025-06-01 00:00", 50, 2000, -1,
          "What is the cheapest way to get from Lisbon airport to the city centre?",
          "lisbon airports public-transport", r"""
          <p>Arriving at Lisbon airport in the afternoon with one suitcase. What are the options to reach the centre?</p>
          """,
          a(40, -1, r"""
          <p>The metro is the cheapest and usually the quickest option. The red line starts at the airport station, a short walk from the arrivals hall of Terminal 1, and reaches the centre in about 20–25 minutes with one change.</p>
          <ul>
          <li>Buy a rechargeable Navegante or Viva Viagem card from the machines at the station and load a single journey or a zapping balance; the card itself costs a small one-off fee.</li>
          <li>Change to the green line at Alameda or to the blue line at São Sebastião depending on the destination.</li>
          <li>The metro runs from about 06:30 until 01:00.</li>
          </ul>
          <h2>Other options</h2>
          <ol>
          <li><strong>City buses</strong> (Carris lines 744 and 783, among others) are as cheap as the metro but slower, and crowded with luggage.</li>
          <li><strong>The Aerobus</strong> is a dedicated airport coach with luggage space and stops at the main squares; it costs several times the metro fare.</li>
          <li><strong>Taxis and ride-hailing</strong> take 15–30 minutes depending on traffic. Taxis have a luggage supplement; ride-hailing pick-ups are from the departures level.</li>
          </ol>
          <p>With heavy luggage and a destination far from a metro station, a taxi shared between two or three people costs little more than the Aerobus and saves a lot of walking over the cobbled, hilly streets of the old town.</p>
          """, id=1000000010),
          expect="watermark"),
    ]
    comments = [
        (116, 21, "Good explanation of fare classes, thanks.", 3),
        (158, 52, "Renewed in the end, took four days.", 2),
        (165, 44, "Hotel recommendations are off topic, sorry.", 5),
    ]
    return Site("travel.stackexchange.com", "other", posts, comments, pipe_tags=True,
                licence_comment=True, crlf=True, licence_txt=True)


# ==== gardening.stackexchange.com (Other, an extracted folder): <a><b> tags, answer before question ==

def gardening() -> Site:
    posts = [
        q(4, "2014-07-15 18:30", 48, 31000, 6, "Why do tomato leaves curl upward in hot weather?",
          "tomatoes leaves heat", r"""
          <p>During a heat wave the leaves on my tomato plants rolled up lengthwise. The plants still produce fruit. Is this a disease?</p>
          """,
          a(52, 10, r"""
          <p>Upward leaf roll during hot, dry or windy weather is almost always <strong>physiological leaf roll</strong>, a protective response rather than a disease. By rolling its leaflets lengthwise the plant reduces the leaf area exposed to sun and wind and so loses less water. The leaves stay green, feel thick and leathery, and the plant keeps growing and setting fruit.</p>
          <h2>Common triggers</h2>
          <ul>
          <li>temperatures above about 32 °C, especially with strong sun;</li>
          <li>uneven watering: dry spells followed by heavy watering;</li>
          <li>heavy pruning, which exposes the remaining leaves;</li>
          <li>root damage from digging close to the stem;</li>
          <li>too much nitrogen fertiliser.</li>
          </ul>
          <p>Some varieties, notably many heirlooms and paste tomatoes, roll their leaves readily, while others hardly ever do.</p>
          <h2>What to do</h2>
          <ol>
          <li>Water deeply and regularly so the soil stays evenly moist, and mulch around the plants to keep the roots cool.</li>
          <li>Provide light shade (a shade cloth of about 30 %) during the worst of a heat wave.</li>
          <li>Stop removing leaves during hot spells.</li>
          </ol>
          <h2>When it is something else</h2>
          <p>Leaf curl is a problem when it comes with other symptoms. Twisted, distorted new growth with narrow leaves points to <strong>herbicide drift</strong>, typically from lawn weedkillers. Yellowing edges with upward curling and stunted growth can be <strong>tomato yellow leaf curl virus</strong>, spread by whiteflies, and downward curling with purple veins suggests other problems. Those cases need a closer look, ideally with a sample taken to a local extension service or plant clinic.</p>
          """),
          a(11, 12, r"""
          <p>It is a heat stress response, nothing to worry about. Keep them watered.</p>
          """),
          accepted=0),

        q(11, "2015-04-02 07:00", 35, 19000, 8, "How often should a newly planted tree be watered?",
          "trees watering planting", r"""
          <p>We planted a young maple last week. How much and how often does it need water during the first summer?</p>
          """,
          a(39, 10, r"""
          <p>A new tree depends entirely on the root ball it arrived with until its roots grow out into the surrounding soil, which takes one to three growing seasons. During that time it needs regular, deep watering, aimed at the root ball.</p>
          <h2>A typical schedule</h2>
          <ul>
          <li><strong>First two weeks:</strong> water every day or two.</li>
          <li><strong>Weeks three to twelve:</strong> two or three times a week.</li>
          <li><strong>After that, until the roots are established:</strong> once a week, in dry weather.</li>
          </ul>
          <p>A rule of thumb for the amount is about 10 litres per 2.5 cm of trunk diameter each time, applied slowly so it soaks in instead of running off. A slow-release watering bag or a hose left trickling at the base for half an hour works well.</p>
          <h2>Checking instead of guessing</h2>
          <p>Soil type and weather change everything, so check before watering: push a finger or a trowel 10–15 cm into the soil next to the root ball. If it is moist, wait; if it is dry, water. Clay soils hold water for a long time and are easily overwatered, which suffocates roots; sandy soils drain within a day.</p>
          <h2>Help the tree help itself</h2>
          <ol>
          <li>Spread 5–8 cm of mulch in a wide ring around the tree, kept a hand's width away from the trunk.</li>
          <li>Keep grass and weeds out of that ring; they compete strongly for water.</li>
          <li>Skip fertiliser in the first year; it pushes leafy growth the roots cannot yet support.</li>
          </ol>
          <p>Wilting or scorched leaf edges in summer usually mean too little water, while yellowing leaves in wet, heavy soil often mean too much.</p>
          """),
          a(6, 14, r"""
          <p>Once a week, deeply.</p>
          """),
          accepted=0),

        q(18, "2013-11-09 11:45", 60, 44000, 13, "When is the best time of year to prune apple trees?",
          "pruning apple-trees fruit-trees", r"""
          <p>Our old apple tree has become a tangle of branches. When should it be pruned, and how hard?</p>
          """,
          a(66, 15, r"""
          <p>Apple trees are pruned mainly in <strong>late winter</strong>, while they are dormant: after the worst frosts have passed and before the buds break, which in most temperate climates means February or March. Without leaves the structure of the tree is easy to see, and wounds made just before growth starts close quickly.</p>
          <h2>Winter pruning</h2>
          <p>Winter pruning stimulates vigorous regrowth, so it is the time for structural work:</p>
          <ol>
          <li>remove dead, diseased and damaged wood (the three Ds) first;</li>
          <li>then branches that cross or rub against each other;</li>
          <li>then vigorous upright shoots (water sprouts) and branches growing into the centre, to open the crown to light and air.</li>
          </ol>
          <h2>Summer pruning</h2>
          <p>A lighter pruning in late summer, once the shoots have stopped growing, slows the tree down instead. It is used to control size and to shorten the current season's side shoots on trained forms such as cordons and espaliers, which encourages fruit buds for the following year.</p>
          <h2>Restoring an old, neglected tree</h2>
          <p>Do not try to fix everything at once. Removing more than about a quarter of the crown in one winter provokes a forest of water sprouts. Spread the renovation over three or four years, taking out one or two large branches each winter, always cutting just outside the branch collar rather than flush with the trunk.</p>
          <p>Stone fruit is different: cherries and plums are pruned in summer, because winter cuts let in silver leaf disease.</p>
          """),
          a(20, 16, r"""
          <p>Late winter. Take out crossing branches and open up the middle.</p>
          """),
          a(2, 17, r"""
          <p>Whenever you have time, really.</p>
          """),
          accepted=0),

        q(32, "2016-05-20 21:00", 25, 16000, 19,
          "How can slugs be kept away from hostas without using pellets?",
          "pests slugs hostas organic", r"""
          <p>Every spring slugs shred the hostas. Metaldehyde pellets are out because of the dog. What else works?</p>
          """,
          a(28, 15, r"""
          <p>No single measure stops slugs completely, but several together keep hostas presentable. The key period is spring, when the shoots unfurl: damage done then stays visible all season.</p>
          <h2>Reduce the population</h2>
          <ul>
          <li><strong>Night patrols.</strong> Going out with a torch on a damp evening two hours after dark and collecting slugs by hand is the most effective single method, especially in the first warm, wet weeks of spring.</li>
          <li><strong>Traps.</strong> Beer traps (a container sunk so its rim is 2 cm above ground, to spare beetles) or upturned grapefruit halves collect slugs that can be removed in the morning.</li>
          <li><strong>Nematodes.</strong> The parasitic nematode <em>Phasmarhabditis hermaphrodita</em>, sold as a biological control, is watered into moist soil above 5 °C and protects for about six weeks. It is harmless to pets, birds and hedgehogs.</li>
          <li><strong>Predators.</strong> Frogs, toads, hedgehogs, ground beetles and thrushes all eat slugs; a pond and some untidy corners help them.</li>
          </ul>
          <h2>Protect the plants</h2>
          <ol>
          <li>Clear debris and hiding places around the crowns in early spring.</li>
          <li>Water in the morning rather than the evening, so the surface is dry at night when slugs are active.</li>
          <li>Grow hostas in pots with a copper band round the rim; slugs avoid crossing it.</li>
          <li>Choose thick-leaved, blue or glaucous varieties, which slugs find much harder to eat than thin green ones.</li>
          </ol>
          <p>Pellets based on ferric phosphate are the pet-safer alternative to metaldehyde if some chemical control is still wanted, but they should still be used sparingly.</p>
          """),
          a(7, 21, r"""
          <p>Copper tape around pots helps a lot.</p>
          """),
          accepted=0),

        q(39, "2017-01-25 16:16", 90, 58000, 22, "What causes yellow leaves on potted citrus trees?",
          "citrus container-gardening yellow-leaves", r"""
          <p>A potted lemon tree indoors for the winter is dropping yellow leaves. What is going on?</p>
          """,
          a(97, 10, r"""
          <p>Yellow leaves on a container citrus almost always come from one of four causes, and the pattern of yellowing tells them apart.</p>
          <h2>Overwatering and cold roots</h2>
          <p>The most common cause indoors in winter. Whole leaves turn pale yellow and drop, often older ones first, and the soil stays wet for days. Citrus roots need air; in cool rooms with little light the tree uses very little water, and a wet pot suffocates the roots. Let the top few centimetres dry before watering, make sure the pot drains freely, and never leave it standing in a saucer of water.</p>
          <h2>Nutrient deficiency</h2>
          <ul>
          <li><strong>Nitrogen:</strong> uniform yellowing of older leaves, slow growth. Feed with a citrus fertiliser from spring to late summer.</li>
          <li><strong>Magnesium:</strong> a yellow inverted V on older leaves with a green base near the stalk. A little Epsom salt (magnesium sulfate) in the water corrects it.</li>
          <li><strong>Iron:</strong> young leaves turn yellow while the veins stay green. Usually caused by alkaline soil or hard tap water rather than a lack of iron; use rainwater and an ericaceous or citrus compost.</li>
          </ul>
          <h2>Low light and sudden change</h2>
          <p>A tree moved from a sunny patio to a dim room sheds leaves it can no longer support. Give it the brightest window available, or a grow light, and keep it away from radiators and cold draughts.</p>
          <h2>Pests</h2>
          <p>Speckled yellowing with fine webbing points to spider mites, and sticky leaves to scale insects or mealybugs. Check the undersides of the leaves with a magnifier.</p>
          <p>Some leaf drop in late winter is normal; a tree that still has healthy green new growth is usually fine.</p>
          """, thread=(
              ("asker", "The yellow leaves have green veins, so it sounds like iron. We use tap water, which is very hard here."),
              ("answerer", "That fits. Switch to rainwater and repot into citrus compost in spring; the new leaves should come out green."))),
          a(16, 23, r"""
          <p>Probably overwatering, that is the usual problem indoors in winter.</p>
          """),
          accepted=0),

        # The answer's Id (44) is lower than its question's (46), so it comes first in the file,
        # as migrated posts do in real dumps: the join must not assume questions come first.
        q(46, "2018-09-12 09:30", 18, 12000, 25, "When should garlic be planted for a summer harvest?",
          "garlic planting bulbs", r"""
          <p>Planting garlic for the first time. Spring or autumn?</p>
          """,
          a(21, 15, r"""
          <p>Garlic is best planted in <strong>autumn</strong>, for harvest the following early to mid summer. In most temperate climates that means October or November, a few weeks before the ground freezes, or up to December in mild areas.</p>
          <p>Autumn planting matters for two reasons:</p>
          <ol>
          <li>The cloves grow roots before winter and start into leaf growth as soon as the soil warms, so the plants have a long season to build a big bulb.</li>
          <li>Most varieties need a period of cold (vernalisation), roughly four to eight weeks below 10 °C, to divide into cloves. Garlic planted too late in spring often forms a single round bulb instead.</li>
          </ol>
          <h2>How to plant</h2>
          <ul>
          <li>Separate the bulb into cloves just before planting, keeping the papery skin on; plant the largest cloves, which give the largest bulbs.</li>
          <li>Set them pointed end up, 5 cm deep (a little deeper in cold regions), 15 cm apart in rows 30 cm apart.</li>
          <li>Choose a sunny spot with well-drained soil; waterlogged soil rots the cloves in winter.</li>
          <li>Mulch with straw or leaves after the ground cools, in areas with hard frosts.</li>
          </ul>
          <p>Use bulbs from a garden supplier rather than the supermarket: they are free of disease and suited to the local climate. Hardneck types cope better with cold winters, softneck types keep longer after harvest.</p>
          <p>Harvest when the lower third of the leaves have turned brown, usually in July, and dry the bulbs in an airy, shaded place for two to three weeks.</p>
          """, id=44),
          a(5, 27, r"""
          <p>Autumn, definitely. Spring garlic stays small.</p>
          """, id=47),
          accepted=0),

        # ---- drop cases ----
        q(53, "2019-10-21 14:00", 22, 8300, 28, "Are oak leaves suitable for composting?",
          "compost leaves", r"""
          <p>Our garden has two big oaks. Can the leaves go into the compost, or are they too acidic?</p>
          """,
          a(19, 29, r"""
          <p>I've been composting oak leaves for more than ten years and I always treat them as one of the best things my garden produces. The acidity worry is mostly a myth: fresh oak leaves are mildly acidic, but by the time they have broken down the compost is close to neutral, and my vegetable beds have never needed lime because of it.</p>
          <p>What is true is that oak leaves are slow. They are tough and rich in tannins, and a pile of whole leaves can take two years or more to rot. A few things speed it up a lot:</p>
          <ul>
          <li>I shred them first by running the lawnmower over them on the lawn; shredded leaves rot several times faster.</li>
          <li>I mix them with green material, such as grass clippings or kitchen scraps, about one part green to two or three parts leaves by volume, which supplies the nitrogen the microbes need.</li>
          <li>I keep the heap moist, like a wrung-out sponge, and turn it once or twice in the season.</li>
          </ul>
          <p>When there are more leaves than the compost heap can take, I make leaf mould instead: stuff the damp leaves into a wire cage or into black bags with a few holes, and leave them for one to two years. The result is a crumbly, dark material that makes a wonderful mulch and an ingredient for potting mixes.</p>
          <p>The only leaves I keep out of my compost are walnut leaves, which contain juglone, and anything from diseased plants.</p>
          """),
          a(6, 30, r"""
          <p>Yes, shred them first. They take a while.</p>
          """),
          expect="first_person"),

        q(60, "2020-10-05 10:00", 9, 5100, 31, "How deep should tulip bulbs be planted?",
          "bulbs tulips planting", r"""
          <p>The packet says 10 cm, a neighbour says 20 cm. Who is right?</p>
          """,
          a(7, 15, r"""
          <p>The usual rule for bulbs is to plant them at a depth of two to three times the height of the bulb, measured from the base of the bulb to the soil surface. A typical tulip bulb is 5–6 cm tall, which gives 10–18 cm, so both figures fall within the normal range; the best depth depends on the soil and on how long the tulips are expected to last.</p>
          <h2>Arguments for planting deeper (15–20 cm)</h2>
          <ul>
          <li>Deeper bulbs are better protected from frost, summer heat and rodents.</li>
          <li>Stems are anchored more firmly and the flowers are less likely to flop.</li>
          <li>Tulips planted deep tend to come back for more years, because they split into small offsets less readily.</li>
          </ul>
          <h2>Arguments for planting shallower (10–12 cm)</h2>
          <ul>
          <li>In heavy clay, deep bulbs sit in cold, wet soil and rot; shallower planting, or some grit in the planting hole, is safer.</li>
          <li>In pots there is rarely enough room for 20 cm of soil above the bulbs, and tulips treated as annuals do not need the extra protection.</li>
          </ul>
          <p>Plant in mid to late autumn, once the soil has cooled below about 10 °C, which also reduces the risk of the fungal disease tulip fire. Set the bulbs pointed end up about two bulb-widths apart, water them in once, and mark the spot so they are not dug up by accident in winter.</p>
          """),
          a(2, 33, r"""
          <p>Three times the bulb height.</p>
          """),
          expect="answer_score"),

        q(67, "2020-12-01 13:00", 5, 2600, 35, "Why are these leaves turning brown?",
          "leaves identification", r"""
          <p>Photo of the plant: <img src="https://i.stack.imgur.com/brwn1.jpg" alt="brown leaves"></p>
          """,
          a(12, 10, r"""
          <p>That looks like a peace lily with dry, brown leaf tips, which usually means the air is too dry or the tap water carries too much fluoride or salt. Use rainwater or filtered water and mist the plant or stand it on a tray of wet pebbles. Trim the brown tips with clean scissors, following the leaf's shape.</p>
          """),
          a(3, 36, r"""
          <p>Underwatering?</p>
          """),
          expect="title,answer_short"),

        q(74, "2021-04-18 08:40", 6, 1900, 37, "Should rhubarb stalks be cut or pulled?",
          "rhubarb harvesting", r"""
          <p>Is it better to cut rhubarb stalks with a knife or pull them off?</p>
          """,
          a(8, 15, r"""
          <p>Pull them: hold the stalk near the base and twist it away from the crown. A cut leaves a stump that can rot.</p>
          """),
          expect="answer_score,answer_short"),

        row(Id=80, PostTypeId=7, CreationDate="2013-06-01T00:00:00.000", Score=0,
            Body="", OwnerUserId=-1, LastActivityDate="2013-06-01T00:00:00.000", CommentCount=0,
            ContentLicense="CC BY-SA 3.0"),
        row(Id=81, PostTypeId=5, CreationDate="2013-06-02T00:00:00.000", Score=0, Body=h(r"""
            <p>Composting is the controlled decomposition of organic matter into humus for use in the garden.</p>
            """), OwnerUserId=15, LastActivityDate="2013-06-02T00:00:00.000", CommentCount=0,
            ContentLicense="CC BY-SA 3.0"),
        row(Id=82, PostTypeId=4, CreationDate="2013-06-02T00:00:00.000", Score=0,
            Body="Questions about making and using compost.", OwnerUserId=15,
            LastActivityDate="2013-06-02T00:00:00.000", CommentCount=0, ContentLicense="CC BY-SA 3.0"),
    ]
    comments = [
        (4, 10, "Which variety is it? Some roll their leaves much more readily than others.", 1),
        (67, 15, "Please tell us what plant this is and where it grows.", 2),
    ]
    return Site("gardening.stackexchange.com", "other", posts, comments, folder=True)


# ==== turning the content into dump files =========================================================

def sites() -> list[Site]:
    return [chemistry(), unix(), cooking(), travel(), gardening()]


def _date(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M")


def _stamp(t: datetime, salt: int) -> str:
    """The dump's date format, with seconds and milliseconds derived from the post so they look real."""
    t += timedelta(seconds=(salt * 53) % 60)
    return t.strftime("%Y-%m-%dT%H:%M:%S") + f".{(salt * 337) % 1000:03d}"


def _licence(stamp: str) -> str:
    # The licence a post got depends on when it was written (Stack Exchange's licence history).
    if stamp < "2011-04-08":
        return "CC BY-SA 2.5"
    if stamp < "2018-05-02":
        return "CC BY-SA 3.0"
    return "CC BY-SA 4.0"


def _tags(site: Site, tags: tuple) -> str:
    return "|" + "|".join(tags) + "|" if site.pipe_tags else "".join(f"<{t}>" for t in tags)


def escape_attr(value: str) -> str:
    """XML-escape an attribute value as the dumps do: newlines as &#xA;, other control characters
    as character references (which is how invalid ones like &#x1E; and &#x0; got into 2024 dumps)."""
    out = []
    for ch in value:
        if ch == "&":
            out.append("&amp;")
        elif ch == "<":
            out.append("&lt;")
        elif ch == ">":
            out.append("&gt;")
        elif ch == '"':
            out.append("&quot;")
        elif ch == "\n":
            out.append("&#xA;")
        elif ch == "\r":
            out.append("&#xD;")
        elif ord(ch) < 0x20:
            out.append(f"&#x{ord(ch):X};")
        else:
            out.append(ch)
    return "".join(out)


def _row_xml(attrs: dict, order: tuple) -> str:
    unknown = set(attrs) - set(order)
    assert not unknown, f"attributes outside the dump schema: {sorted(unknown)}"
    parts = [f'{k}="{escape_attr(str(attrs[k]))}"' for k in order if attrs.get(k) is not None]
    return "  <row " + " ".join(parts) + " />"


def post_rows(site: Site) -> tuple[list[dict], list[dict]]:
    """(post rows, comment rows) of a site, as attribute dicts in file order."""
    posts: list[tuple[int, dict]] = []
    comments: list[tuple[str, int, dict]] = []
    counts: dict[int, int] = {}
    dates: dict[int, datetime] = {}

    def add_thread(post_id: int, start: datetime, users: dict, thread: tuple) -> None:
        for n, (who, text) in enumerate(thread):
            t = start + timedelta(minutes=38 * (n + 1) + post_id % 11)
            comments.append((_stamp(t, post_id + n), post_id, {
                "PostId": post_id, "Score": max(0, 2 - n), "Text": text,
                "CreationDate": _stamp(t, post_id + n), "UserId": users[who]}))
            counts[post_id] = counts.get(post_id, 0) + 1

    for item in site.posts:
        if isinstance(item, dict):
            key = item.get("Id", item.get("_order"))
            posts.append((key, {k: v for k, v in item.items() if k != "_order"}))
            continue
        qd = _date(item.date)
        dates[item.id] = qd
        answer_rows = []
        last = qd
        for k, ans in enumerate(item.answers):
            ad = qd + timedelta(hours=2 + 5 * k, minutes=(item.id * 7 + k * 13) % 60)
            last = max(last, ad)
            attrs = dict(ans.attrs)
            order = attrs.pop("_order", None)
            attrs.pop("_allow_i", None)
            aid = ans.id if ans.id is not None else item.id + k + 1
            stamp = _stamp(ad, aid)
            r = {"Id": aid, "PostTypeId": 2, "ParentId": item.id, "CreationDate": stamp,
                 "Score": ans.score, "Body": ans.body, "OwnerUserId": ans.owner,
                 "LastActivityDate": stamp, "CommentCount": 0, "ContentLicense": _licence(stamp)}
            if attrs.pop("no_id", False):
                del r["Id"]
            r.update(attrs)
            if item.attrs.get("CommunityOwnedDate"):
                r["CommunityOwnedDate"] = item.attrs["CommunityOwnedDate"]
            if ans.thread:
                add_thread(aid, ad, {"asker": item.owner, "answerer": ans.owner}, ans.thread)
            dates[aid] = ad
            answer_rows.append((r.get("Id", order), r))
        stamp = _stamp(qd, item.id)
        qr = {"Id": item.id, "PostTypeId": 1, "CreationDate": stamp, "Score": item.score,
              "ViewCount": item.views, "Body": item.body, "OwnerUserId": item.owner,
              "LastActivityDate": _stamp(last, item.id + 1), "Title": item.title,
              "Tags": _tags(site, item.tags), "AnswerCount": len(item.answers), "CommentCount": 0,
              "ContentLicense": _licence(stamp)}
        if item.accepted is not None:
            acc = item.answers[item.accepted]
            qr["AcceptedAnswerId"] = acc.id if acc.id is not None else item.id + item.accepted + 1
        qr.update(item.attrs)
        posts.append((item.id, qr))
        posts.extend(answer_rows)

    for n, (post_id, user, text, score) in enumerate(site.comments):
        t = dates[post_id] + timedelta(minutes=17 + 29 * n)
        comments.append((_stamp(t, post_id + 50 + n), post_id, {
            "PostId": post_id, "Score": score, "Text": text,
            "CreationDate": _stamp(t, post_id + 50 + n), "UserId": user}))
        counts[post_id] = counts.get(post_id, 0) + 1

    # Real dumps list rows by Id, so an answer with a lower Id than its question comes first.
    posts.sort(key=lambda kv: kv[0])
    rows = [r for _, r in posts]
    for r in rows:
        if r.get("PostTypeId") in (1, 2) and "Id" in r:
            r["CommentCount"] = counts.get(r["Id"], 0)
    comments.sort(key=lambda c: (c[0], c[1]))
    comment_rows = []
    for n, (stamp, _, c) in enumerate(comments):
        comment_rows.append({"Id": 101 + n * 3, **c, "ContentLicense": _licence(stamp)})
    return rows, comment_rows


def _document(site: Site, root: str, rows: list[dict], order: tuple) -> bytes:
    nl = "\r\n" if site.crlf else "\n"
    lines = ['<?xml version="1.0" encoding="utf-8"?>']
    if site.licence_comment:
        lines.extend(LICENCE_COMMENT.split("\n"))
    lines.append(f"<{root}>")
    lines.extend(_row_xml(r, order) for r in rows)
    lines.append(f"</{root}>")
    text = nl.join(lines) + (nl if site.final_newline else "")
    return ("\ufeff" if site.bom else "").encode() + text.encode("utf-8")


def site_files(site: Site) -> dict[str, bytes]:
    """The member files of one site dump, name -> bytes."""
    posts, comments = post_rows(site)
    files = {"Posts.xml": _document(site, "posts", posts, POST_ATTRS),
             "Comments.xml": _document(site, "comments", comments, COMMENT_ATTRS)}
    if site.licence_txt:
        files["license.txt"] = LICENCE_TXT.encode()
    return files


def _write_7z(path: Path, files: dict[str, bytes]) -> None:
    import libarchive   # the libarchive-c binding; only the writer needs it

    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with libarchive.file_writer(str(tmp), "7zip", options="compression=bzip2") as w:
            for name in sorted(files):
                data = files[name]
                w.add_file_from_memory(name, len(data), data, mtime=(MTIME, 0))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _write_file(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.utime(tmp, (MTIME, MTIME))
    os.replace(tmp, path)


def build(out_dir: Path) -> list[Path]:
    """Write every sample site into out_dir; return the paths written, sorted."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for site in sites():
        check_site(site)
        files = site_files(site)
        if site.folder:
            folder = out_dir / site.domain
            folder.mkdir(exist_ok=True)
            for name in sorted(files):
                _write_file(folder / name, files[name])
                written.append(folder / name)
        else:
            path = out_dir / f"{site.domain}.7z"
            _write_7z(path, files)
            written.append(path)
    return sorted(written)


# ==== the authoring check: each question fails exactly the rules it is meant to fail ==============
# A simple, independent reading of the paper's rules, so that an edit to the content above cannot
# silently turn a kept example into a dropped one (or the reverse). The stage has its own rules.

TITLE_REFERS = re.compile(r"\b(this|these|those|that|it|here|above|below)\b|the following|my code|"
                          r"my problem|the error|^help\b", re.IGNORECASE)
FIRST_PERSON = re.compile(r"\bI\b|\bI'(?:m|ve|d|ll)\b|\b(?i:my|me|mine|myself)\b")
REFERS = re.compile(r"as mentioned|mentioned above|other answer|another answer|accepted answer|"
                    r"answer above|answer below|previous answer|this answer|top answer|stack ?exchange|"
                    r"stack ?overflow|super ?user|server ?fault|ask ?ubuntu|this site|this question|"
                    r"upvot|downvot|up-vot|down-vot|edit:|update:|comments?\b|@\w|as (?:noted|"
                    r"explained|described|stated|said|pointed out|suggested)|the op\b|duplicate of",
                    re.IGNORECASE)
_SKIP = re.compile(r"<pre>.*?</pre>|<code>.*?</code>|<blockquote>.*?</blockquote>", re.DOTALL)


def prose_of(body: str) -> str:
    """The answer's own words: code, inline code and quotations removed, tags stripped."""
    return html.unescape(re.sub(r"<[^>]+>", " ", _SKIP.sub(" ", body)))


def drop_reasons(question: Question) -> set[str]:
    reasons = set()
    if question.id >= WATERMARK_MIN_ID:
        reasons.add("watermark")
    if not question.title.endswith("?") or TITLE_REFERS.search(question.title):
        reasons.add("title")
    if "ClosedDate" in question.attrs:
        reasons.add("closed")
    if "CommunityOwnedDate" in question.attrs:
        reasons.add("community_wiki")
    scored = [x for x in question.answers if isinstance(x.score, int) and not x.attrs.get("no_id")]
    if not scored:
        return reasons | {"no_answers"}
    top = max(scored, key=lambda x: x.score)
    if top.score < 10:
        reasons.add("answer_score")
    if len(top.body) < 1200:
        reasons.add("answer_short")
    if len(top.body) > 4096:
        reasons.add("answer_long")
    prose = prose_of(top.body)
    hits = FIRST_PERSON.findall(prose)
    if FIRST_PERSON.match(prose.strip()) or len(hits) > top.attrs.get("_allow_i", 0):
        reasons.add("first_person")
    if REFERS.search(top.body):
        reasons.add("refers_to_others")
    return reasons


def check_site(site: Site) -> None:
    for item in site.posts:
        if isinstance(item, Question):
            want = set() if item.expect == "keep" else set(item.expect.split(","))
            got = drop_reasons(item)
            assert got == want, f"{site.domain} question {item.id}: drops {sorted(got)}, meant {sorted(want)}"
            if item.expect == "keep":
                assert 2 <= len(item.answers) <= 3, f"{site.domain} {item.id}: kept questions have 2-3 answers"


def report() -> str:
    lines = []
    for site in sites():
        kept = []
        lines.append(f"{site.domain} ({site.category}{', folder' if site.folder else ', .7z'})")
        for item in site.posts:
            if isinstance(item, Question):
                top = max((x for x in item.answers if isinstance(x.score, int)), key=lambda x: x.score,
                          default=None)
                size = len(top.body) if top else 0
                lines.append(f"  Q{item.id:<11} score {item.score:>4}  top answer {top.score if top else '-':>4}"
                             f" {size:>5} chars  {item.expect:<22} {item.title}")
                kept += [item.id] if item.expect == "keep" else []
            else:
                lines.append(f"  row {item.get('Id', '(no Id)')!s:<9} PostTypeId {item.get('PostTypeId')}")
        lines.append(f"  qualifying: {len(kept)} {kept}")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder to write the dumps into")
    p.add_argument("--report", action="store_true", help="print what each post exercises, write nothing")
    args = p.parse_args(argv)
    if args.report:
        print(report())
        return 0
    for path in build(args.out):
        print(f"{path.relative_to(args.out)}  {path.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
