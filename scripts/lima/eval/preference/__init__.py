"""§4 (stage 06): our responses against each baseline, pairwise (§4.1-4.2), and the absolute
Fail / Pass / Excellent and safety ratings (§4.3): the stage's steps (`evaluate`), the §4.3 prompt
flags (`flags`), the report fragment (`report`) and its figures (`plots`), and the agreement between
two sets of pairwise labels (`agreement`, §4.1)."""
