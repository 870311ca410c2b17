/* libcrypto.a (OpenSSL: hand-written assembly selected at run time from
 * the CPU's capabilities): SHA-256, SHA-512, HMAC, AES-256-GCM encryption
 * and decryption, a big-number exponentiation, through the EVP API. */
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <string.h>

static void hex(const char *label, const unsigned char *p, size_t n)
{
    printf("%s ", label);
    for (size_t i = 0; i < n; i++)
        printf("%02x", p[i]);
    putchar('\n');
}

int main(void)
{
    static const unsigned char msg[] = "static libraries, loaded without a linker";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    EVP_Digest(msg, sizeof msg - 1, md, &mdlen, EVP_sha256(), NULL);
    hex("sha256", md, mdlen);
    EVP_Digest(msg, sizeof msg - 1, md, &mdlen, EVP_sha512(), NULL);
    hex("sha512", md, mdlen);
    HMAC(EVP_sha256(), "key", 3, msg, sizeof msg - 1, md, &mdlen);
    hex("hmac", md, mdlen);

    unsigned char key[32], iv[12], ct[64], tag[16], pt[64];
    for (int i = 0; i < 32; i++)
        key[i] = (unsigned char)(i * 7 + 1);
    memset(iv, 0x42, sizeof iv);
    int len = 0, total = 0;
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, iv);
    EVP_EncryptUpdate(c, ct, &len, msg, (int)(sizeof msg - 1));
    total = len;
    EVP_EncryptFinal_ex(c, ct + total, &len);
    total += len;
    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, tag);
    hex("aes-gcm", ct, (size_t)total);
    hex("tag", tag, 16);
    EVP_CIPHER_CTX_reset(c);
    EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, iv);
    EVP_DecryptUpdate(c, pt, &len, ct, total);
    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, tag);
    int ok = EVP_DecryptFinal_ex(c, pt + len, &len) == 1 && memcmp(pt, msg, sizeof msg - 1) == 0;
    EVP_CIPHER_CTX_free(c);
    printf("decrypt %s\n", ok ? "ok" : "FAILED");

    BN_CTX *bc = BN_CTX_new();
    BIGNUM *b = BN_new(), *e = BN_new(), *m = BN_new(), *r = BN_new();
    BN_set_word(b, 3);
    BN_set_word(e, 1000);
    BN_set_word(m, 1);
    BN_lshift(m, m, 255);
    BN_sub_word(m, 19); /* 2^255 - 19 */
    BN_mod_exp(r, b, e, m, bc);
    char *s = BN_bn2hex(r);
    printf("3^1000 mod 2^255-19 = %s\n", s);
    OPENSSL_free(s);
    BN_free(b), BN_free(e), BN_free(m), BN_free(r);
    BN_CTX_free(bc);
    return ok ? 0 : 1;
}
